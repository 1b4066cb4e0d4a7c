// amlDeployApply: aml-deploy apply: create or update an online endpoint or deployment from its YAML.
// Parameters: file (required), sets (list of 'path=value'), allTraffic (boolean), compute (an endpoint
// file's attached Kubernetes compute), instanceType (a deployment file's instance type), workspace.
// Returns the outputs: endpointName, scoringUri.
def call(Map args) {
    def argv = ['aml-deploy', 'apply', '--file', args.file]
    (args.sets ?: []).each { argv += ['--set', it] }
    if (args.allTraffic) {
        argv += ['--all-traffic']
    }
    if (args.compute) {
        argv += ['--set', "compute=azureml:${args.compute - ~/^azureml:/}"]
    }
    if (args.instanceType) {
        argv += ['--set', "instance_type=${args.instanceType}"]
    }
    return amlRun(argv, args.workspace)
}
