//! `aml-infra`: the dev, QA and prod workspaces' infrastructure from ARM templates. `run` is
//! what `main` calls and what the tests call; it returns a report and never exits the process.

mod cli;
pub mod output;

use aml_client::Result;
use aml_client::arm_template::{check, load_parameters, load_template};
use aml_client::cli::{Report, Session};
pub use cli::{Cli, Command};

pub async fn run(cli: Cli, _session: Session) -> Result<Box<dyn Report>> {
    match cli.command {
        Command::Validate(args) => {
            let template = load_template(&args.template)?;
            let parameters = load_parameters(&args.parameters)?;
            let checked = check(&template, &parameters)?;
            Ok(Box::new(output::Validated {
                template: args.template.display().to_string(),
                parameters_file: args.parameters.display().to_string(),
                checked,
            }))
        }
    }
}
