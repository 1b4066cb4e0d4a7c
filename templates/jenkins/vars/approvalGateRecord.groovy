// approvalGateRecord: approval-gate record: write who approved (the input step's submitter) into the audit trail and onto the model.
// Parameters: model, stage, approver (required: the input step's submitterParameter), workspace.
// Returns the outputs: approvalState, approvedBy.
def call(Map args) {
    def argv = ['approval-gate', 'record', '--model', args.model, '--stage', args.stage, '--from', 'jenkins', '--approver', args.approver]
    return amlRun(argv, args.workspace)
}
