// place: templates/jenkins/vars/amlBroken.groovy
// validator: checker
// expect: `aml-register model` has no flag `--nmae`
// Parameters: modelName.
def call(Map args) {
    def argv = ['aml-register', 'model', '--nmae', args.modelName]
    return amlRun(argv, args.workspace)
}
