// amlRegisterModel: aml-register model: register a job's output as a model version, with its metrics and lineage.
// Parameters: modelName, jobName (required), outputName ('model'), modelFile, tags (list of 'key=value'), workspace.
// Returns the outputs: modelName, modelVersion, modelId, modelDigest.
def call(Map args) {
    def argv = ['aml-register', 'model', '--name', args.modelName, '--job', args.jobName, '--output-name', args.outputName ?: 'model']
    if (args.modelFile) {
        argv += ['--file', args.modelFile]
    }
    (args.tags ?: []).each { argv += ['--tag', it] }
    return amlRun(argv, args.workspace)
}
