// amlDeployApply: aml-deploy apply: create or update an online endpoint or deployment from its YAML.
// Parameters: file (required), sets (list of 'path=value'), allTraffic (boolean), workspace.
// Returns the outputs: endpointName, scoringUri.
def call(Map args) {
    def argv = ['aml-deploy', 'apply', '--file', args.file]
    (args.sets ?: []).each { argv += ['--set', it] }
    if (args.allTraffic) {
        argv += ['--all-traffic']
    }
    return amlRun(argv, args.workspace)
}
