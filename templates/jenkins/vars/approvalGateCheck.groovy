// approvalGateCheck: approval-gate check: compare a candidate with the champion by rules over their metrics; fails the stage when the gate does.
// Parameters: candidate (required), champion, rules (list), metrics (list), rulesFile, noChampion ('fail'), workspace.
// Returns the outputs: decision, champion, candidate, candidateModel, candidateVersion, candidateJob, forced, ruleNPassed….
def call(Map args) {
    def argv = ['approval-gate', 'check', '--candidate', args.candidate, '--no-champion', args.noChampion ?: 'fail']
    if (args.champion) {
        argv += ['--champion', args.champion]
    }
    if (args.rulesFile) {
        argv += ['--rules', args.rulesFile]
    }
    (args.rules ?: []).each { argv += ['--rule', it] }
    (args.metrics ?: []).each { argv += ['--metric', it] }
    return amlRun(argv, args.workspace)
}
