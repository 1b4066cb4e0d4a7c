// amlSetup: put the aml-* tools on PATH. A pinned release archive is downloaded, its SHA-256
// checked, and kept under the agent's tools folder; without a checksum the tools are built
// from the checkout with cargo. Parameters: version, baseUrl, sha256, fromSource (boolean).
// Returns nothing; wrap later steps in withEnv(["PATH+AML=${amlSetup()}"]) or use its result.
def call(Map args = [:]) {
    def version = args.version ?: '0.1.0'
    def baseUrl = args.baseUrl ?: 'https://github.com/aml-tools/aml-tools/releases/download'
    def root = "${env.JENKINS_HOME ?: pwd(tmp: true)}/tools/aml-tools-${version}"
    withEnv(["VERSION=${version}", "BASE_URL=${baseUrl}", "SHA256=${args.sha256 ?: ''}", "FROM_SOURCE=${args.fromSource ?: false}", "ROOT=${root}"]) {
        sh(label: "install aml-tools ${version}", script: '''
            set -eu
            if [ -x "$ROOT/bin/aml-train" ] && [ "$("$ROOT/bin/aml-train" --version)" = "aml-train $VERSION" ]; then
              echo "aml-tools $VERSION already installed"
            elif [ -n "$SHA256" ] && [ "$FROM_SOURCE" != "true" ]; then
              archive="aml-tools-$VERSION-x86_64-unknown-linux-gnu.tar.gz"
              curl --fail --silent --show-error --location --retry 3 --output "$archive" "$BASE_URL/v$VERSION/$archive"
              echo "$SHA256  $archive" | sha256sum --check --strict
              mkdir -p "$ROOT/bin"
              tar --extract --gzip --file "$archive" --directory "$ROOT/bin"
            else
              for tool in aml-train aml-register aml-package aml-deploy approval-gate smoke-test aml-infra; do
                cargo install --locked --quiet --root "$ROOT" --path "crates/$tool"
              done
            fi
        ''')
    }
    return "${root}/bin"
}
