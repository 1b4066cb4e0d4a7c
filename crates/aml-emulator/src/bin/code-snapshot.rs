//! `code-snapshot`: what re-submitting a job with unchanged code costs on Azure, for
//! `cargo xtask bench`. Starts Azurite and the emulator, then runs itself as a client with
//! the emulator's environment: the first call uploads the folder as a code version, the
//! second (timed) must find it by content hash and upload nothing.
//!
//! code-snapshot DIR      prints `first_seconds=… resubmit_seconds=… reused=… files=… bytes=… pending_uploads=…`

use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::Instant;

use aml_emulator::Emulator;
use aml_emulator::azurite::Azurite;

/// The client side: two code versions of the same folder through the azure backend.
fn client(dir: &Path) -> Result<(), String> {
    let location = std::env::var("AML_WORKSPACE").map_err(|_| "AML_WORKSPACE is not set".to_string())?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    let settings = aml_client::settings::Settings::from_env();
    let (first, first_seconds, again, resubmit_seconds) = runtime
        .block_on(async {
            let ws = aml_azure::AzureWorkspace::open_location(&location, &settings).await?;
            let started = Instant::now();
            let first = ws.code_version(dir).await?;
            let first_seconds = started.elapsed().as_secs_f64();
            let started = Instant::now();
            let again = ws.code_version(dir).await?;
            Ok::<_, aml_client::Error>((first, first_seconds, again, started.elapsed().as_secs_f64()))
        })
        .map_err(|e| e.to_string())?;
    if again.id != first.id {
        return Err(format!("the same folder became two code versions: {} and {}", first.id, again.id));
    }
    println!(
        "first_seconds={first_seconds} resubmit_seconds={resubmit_seconds} reused={} files={} bytes={}",
        again.reused, again.files, again.bytes
    );
    Ok(())
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag, dir] if flag == "--client" => client(Path::new(dir)),
        [dir] => {
            let azurite = Azurite::start()?;
            let emulator = Emulator::start(Some(azurite.storage(azurite.port)))?;
            let exe = std::env::current_exe().map_err(|e| e.to_string())?;
            let output =
                Command::new(exe).arg("--client").arg(dir).envs(emulator.env()).output().map_err(|e| e.to_string())?;
            if !output.status.success() {
                return Err(format!("the client failed: {}", String::from_utf8_lossy(&output.stderr)));
            }
            let pending = emulator
                .requests()
                .iter()
                .filter(|(m, p, _)| m == "POST" && p.ends_with("/startPendingUpload"))
                .count();
            println!("{} pending_uploads={pending}", String::from_utf8_lossy(&output.stdout).trim());
            Ok(())
        }
        _ => Err("usage: code-snapshot DIR".into()),
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
