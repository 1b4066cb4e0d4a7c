// amlDeployRollout: aml-deploy rollout: blue/green, traffic in steps with a check after each; any failure puts the traffic back.
// Parameters: endpoint, file (required), sets (list), steps ('10,50,100'), check, interval ('30s'), maxFailures (0),
// instanceType (the new deployment's instance type), analysis (list of rules over the deployments' request
// metrics), minRequests (50), inconclusive ('fail', 'pass' or 'pause'), workspace.
// Returns the outputs: rolloutStatus.
def call(Map args) {
    def argv = ['aml-deploy', 'rollout', '--endpoint', args.endpoint, '--file', args.file, '--steps', args.steps ?: '10,50,100', '--interval', args.interval ?: '30s', '--max-failures', "${args.maxFailures ?: 0}"]
    (args.sets ?: []).each { argv += ['--set', it] }
    if (args.check) {
        argv += ['--check', args.check]
    }
    if (args.instanceType) {
        argv += ['--set', "instance_type=${args.instanceType}"]
    }
    if (args.analysis) {
        args.analysis.each { argv += ['--analysis', it] }
        argv += ['--min-requests', "${args.minRequests ?: 50}", '--inconclusive', args.inconclusive ?: 'fail']
    }
    return amlRun(argv, args.workspace)
}
