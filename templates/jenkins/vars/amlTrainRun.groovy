// amlTrainRun: aml-train run: run an Azure ML v2 job (command or pipeline YAML) and wait for it.
// Parameters: jobFile (required), sets (list of 'path=value'), jobName, workspace.
// Returns the outputs: jobName, jobStatus.
def call(Map args) {
    def argv = ['aml-train', 'run', args.jobFile]
    (args.sets ?: []).each { argv += ['--set', it] }
    if (args.jobName) {
        argv += ['--name', args.jobName]
    }
    return amlRun(argv, args.workspace)
}
