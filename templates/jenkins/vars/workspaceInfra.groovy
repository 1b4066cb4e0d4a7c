// workspaceInfra: one environment's workspace and what it needs, from the ARM template in infra/,
// with aml-infra (Resource Manager's Deployments API; no `az`, no Python). command 'what-if'
// prints the changes and fails the stage on a kind failOn lists (a pull request's guard);
// 'deploy' deploys and follows each resource, failing with the failing resource's own error.
// Parameters: command ('what-if' or 'deploy', default 'what-if'), template (default infra/deploy.json), parameters (required: the environment's parameters file), resourceGroup (required), subscription (default: AZURE_SUBSCRIPTION_ID), location (where a missing resource group is created), failOn (what-if: a list of create, modify, delete; default ['delete']), mode ('incremental' or 'complete'), deploymentName (default aml-infra).
// Returns the outputs: deploy: workspace (ready for AML_WORKSPACE), workspaceName, registryLoginServer, clusterName, kubernetesComputeName; what-if: creates, modifies, deletes, changed.
def call(Map args) {
    def command = args.command ?: 'what-if'
    def argv = ['aml-infra', command, args.template ?: 'infra/deploy.json', '--parameters', args.parameters,
                '--resource-group', args.resourceGroup, '--name', args.deploymentName ?: 'aml-infra',
                '--mode', args.mode ?: 'incremental']
    if (args.subscription) {
        argv += ['--subscription', args.subscription]
    }
    if (args.location) {
        argv += ['--location', args.location]
    }
    def failOn = args.failOn == null ? ['delete'] : args.failOn
    if (command == 'what-if' && failOn) {
        argv += ['--fail-on', failOn.join(',')]
    }
    return amlRun(argv)
}
