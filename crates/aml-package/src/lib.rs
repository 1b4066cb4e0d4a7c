//! `aml-package`: the serving image of a model, built without a Docker daemon. `run` is
//! what `main` calls and what the tests call; it returns a report and never exits.

pub mod base;
mod cache_bound;
mod cli;
pub mod image;
pub mod layers;
pub mod output;

use aml_client::cli::{Report, Session};
use aml_client::oci::Layout;
use aml_client::{Error, Result};
pub use cli::{Cli, Command};
use output::{Image, LayerView};

pub async fn run(cli: Cli, session: Session) -> Result<Box<dyn Report>> {
    match cli.command {
        Command::Image(args) => Ok(Box::new(image::build(args, &cli.global.workspace, &session.settings).await?)),
        Command::Base(args) => {
            let (dir, tag) = match args.to.parse::<base::Location>()? {
                base::Location::Layout { dir, reference } => (dir, reference.unwrap_or_else(|| "latest".into())),
                base::Location::Registry(_) => {
                    return Err(Error::usage("a base is imported into an OCI layout", "write `--to oci:DIR[:TAG]`"));
                }
            };
            if !args.rootfs_tar.is_file() {
                return Err(Error::usage(
                    format!("`{}` is not a file", args.rootfs_tar.display()),
                    "give a tar of a root file system",
                ));
            }
            base::check_rootfs(&args.rootfs_tar)?;
            let layout = Layout::create(&dir)?;
            let descriptor = base::import(&args.rootfs_tar, &layout, &tag)?;
            let (_, manifest) = layout.resolve(Some(&tag))?;
            Ok(Box::new(Image {
                digest: descriptor.digest.to_string(),
                reference: format!("oci:{}:{tag}", dir.display()),
                config_digest: manifest.config.digest.to_string(),
                model: None,
                base: None,
                python: None,
                platform: None,
                layers: manifest
                    .layers
                    .iter()
                    .map(|l| LayerView {
                        content: "base".into(),
                        digest: l.digest.to_string(),
                        diff_id: l.digest.to_string(),
                        media_type: l.media_type.clone(),
                        size: l.size,
                        cached: false,
                        sent: None,
                    })
                    .collect(),
            }))
        }
    }
}
