// amlTrainRun: aml-train run: run an Azure ML v2 job (command or pipeline YAML) and wait for it.
// Parameters: jobFile (required), sets (list of 'path=value'), jobName, workspace, compute
// (e.g. 'databricks:https://adb-….azuredatabricks.net?cluster=ID'; DATABRICKS_TOKEN from
// withCredentials, or the agent's Azure identity).
// Returns the outputs: jobName, jobStatus.
def call(Map args) {
    def argv = ['aml-train', 'run', args.jobFile]
    (args.sets ?: []).each { argv += ['--set', it] }
    if (args.jobName) {
        argv += ['--name', args.jobName]
    }
    if (args.compute) {
        argv += ['--compute', args.compute]
    }
    return amlRun(argv, args.workspace)
}
