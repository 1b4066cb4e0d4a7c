// amlTrainValidate: aml-train validate: check a job YAML (and its data against a contract) before any compute.
// Parameters: jobFile (required), dataContract, workspace.
// Returns the outputs: nothing.
def call(Map args) {
    def argv = ['aml-train', 'validate', args.jobFile]
    if (args.dataContract) {
        argv += ['--data-contract', args.dataContract]
    }
    return amlRun(argv, args.workspace)
}
