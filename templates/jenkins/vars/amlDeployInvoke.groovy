// amlDeployInvoke: aml-deploy invoke: run a batch endpoint's deployment over files (a scoring job)
// and wait for it; the step fails when the job fails.
// Parameters: endpoint (required), input (required: a folder or file, azureml://datastores/…/paths/…,
// or an https:// file), inputType (uri_folder or uri_file), deployment (default: the endpoint's
// default), sets (list of 'setting=value' for this job only), jobName, workspace.
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
    return amlRun(argv, args.workspace)
}
