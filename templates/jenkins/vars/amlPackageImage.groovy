// amlPackageImage: aml-package image: build the serving image of a model version (OCI, no Docker daemon).
// Parameters: model, environment, code, base, to (required), scoringScript ('score.py'), workspace.
// Returns the outputs: imageReference, imageDigest.
def call(Map args) {
    def argv = ['aml-package', 'image', '--model', args.model, '--environment', args.environment, '--code', args.code, '--scoring-script', args.scoringScript ?: 'score.py', '--base', args.base, '--to', args.to]
    return amlRun(argv, args.workspace)
}
