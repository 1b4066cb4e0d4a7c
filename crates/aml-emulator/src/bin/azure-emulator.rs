//! The emulator as a process of its own, for what runs tools outside a Rust test (the
//! recipes' local agents in `cargo xtask check-templates`): it prints the environment a
//! tool needs to reach it as Azure — `NAME=VALUE` lines, then `ready` — and serves until
//! its standard input closes.

use std::io::{BufRead, Write};

fn main() -> std::process::ExitCode {
    let emulator = match aml_emulator::Emulator::start(None) {
        Ok(emulator) => emulator,
        Err(e) => {
            eprintln!("azure-emulator: cannot start: {e}");
            return std::process::ExitCode::from(3);
        }
    };
    let mut out = std::io::stdout().lock();
    for (name, value) in emulator.env() {
        let _ = writeln!(out, "{name}={value}");
    }
    let _ = writeln!(out, "AZURE_SUBSCRIPTION_ID={}", aml_emulator::SUBSCRIPTION);
    let _ = writeln!(out, "ready");
    let _ = out.flush();
    drop(out);
    for line in std::io::stdin().lock().lines() {
        if line.is_err() {
            break;
        }
    }
    let violations = emulator.violations();
    if violations.is_empty() {
        return std::process::ExitCode::SUCCESS;
    }
    eprintln!("azure-emulator: requests or answers the official models reject:\n{}", violations.join("\n"));
    std::process::ExitCode::from(1)
}
