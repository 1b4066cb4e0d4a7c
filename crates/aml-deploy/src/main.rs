//! `aml-deploy`: Create online endpoints and deployments, and roll out new model versions blue/green.
//!
//! Not built yet: this binary only explains what is coming, so that templates and
//! scripts can already refer to it. It does nothing else, and says so.

/// Create online endpoints and deployments, and roll out new model versions blue/green
///
/// Not available yet. Coming: `aml-deploy apply -f endpoint.yml | deployment.yml`,
/// `aml-deploy rollout --endpoint NAME -f deployment.yml --steps 10,50,100 --check CMD` with
/// automatic rollback, `aml-deploy show | traffic | logs | delete`, on local endpoints that run
/// the Azure ML inference server and on Azure ML managed online endpoints.
#[derive(clap::Parser)]
#[command(name = "aml-deploy", version, arg_required_else_help = true, max_term_width = 100)]
struct Cli {}

fn main() {
    // With no arguments clap prints this help and exits 2: nothing can run yet.
    let _ = <Cli as clap::Parser>::parse();
}

#[cfg(test)]
mod tests {
    #[test]
    fn command_line_is_consistent() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
