// amlDeployInvoke: aml-deploy invoke: run a batch endpoint's deployment over files (a scoring job)
// and wait for it; the step fails when the job fails.
// Parameters: endpoint (required), input (required: a folder or file, azureml://datastores/…/paths/…, or an https:// file), inputType (uri_folder or uri_file), deployment (default: the endpoint's default), sets (list of 'setting=value' for this job only), jobName, outputPath (where the score output goes: azureml://datastores/NAME/paths/PATH), expectRows (a scoring smoke test: the rows the output must hold), expectColumns (and the columns each row must have, a list of names), workspace.
// Returns the outputs: jobName, jobStatus.
def call(Map args) {
    def argv = ['aml-deploy', 'invoke', args.endpoint, '--input', args.input, '--input-type', args.inputType ?: 'uri_folder']
    (args.sets ?: []).each { argv += ['--set', it] }
    if (args.deployment) {
        argv += ['--deployment', args.deployment]
    }
    if (args.jobName) {
        argv += ['--job-name', args.jobName]
    }
    if (args.outputPath) {
        argv += ['--output-path', args.outputPath]
    }
    if (args.expectRows) {
        argv += ['--expect-rows', "${args.expectRows}"]
    }
    if (args.expectColumns) {
        argv += ['--expect-columns', args.expectColumns.join(',')]
    }
    return amlRun(argv, args.workspace)
}
