// smokeTestRun: smoke-test run: send the cases to an endpoint and check every answer; publish the JUnit XML with `junit`.
// Parameters: endpoint, cases (required), concurrency (1), duration, p95, junit ('smoke-test.xml'), workspace.
// Returns the outputs: smokePassed, smokeFailed, smokeP95Ms, smokeRequestsPerSecond.
def call(Map args) {
    def argv = ['smoke-test', 'run', '--endpoint', args.endpoint, '--cases', args.cases, '--concurrency', "${args.concurrency ?: 1}", '--junit', args.junit ?: 'smoke-test.xml']
    if (args.duration) {
        argv += ['--duration', args.duration]
    }
    if (args.p95) {
        argv += ['--p95', args.p95]
    }
    return amlRun(argv, args.workspace)
}
