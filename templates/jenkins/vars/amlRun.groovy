// amlRun: run one aml-* command the way every step here does: AML_CI=jenkins, results read
// back from the properties file the tool writes (pipeline-utility-steps' readProperties).
// Returns the tool's outputs as a map. A non-zero exit fails the stage with the tool's message.
def call(List argv, String workspace = null) {
    def outputs = "${pwd(tmp: true)}/aml-outputs-${UUID.randomUUID()}.properties"
    def quoted = argv.collect { "'" + it.toString().replace("'", "'\\''") + "'" }.join(' ')
    def environment = ['AML_CI=jenkins', "AML_OUTPUTS_FILE=${outputs}"]
    if (workspace) {
        environment << "AML_WORKSPACE=${workspace}"
    }
    withEnv(environment) {
        sh(script: quoted, label: argv.take(2).join(' '))
    }
    def result = fileExists(outputs) ? readProperties(file: outputs) : [:]
    sh(script: "rm -f '${outputs}'", label: 'clean up the outputs file')
    return result
}
