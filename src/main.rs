//! The `soy` binary: parse arguments, run the command, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = soy::cli::Cli::parse();
    match soy::cli::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("{}", chain(&err));
            ExitCode::from(err.exit_code())
        }
    }
}

/// The error and its causes, `caused by:` lines after the first.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    if !text.starts_with("error") {
        text = format!("error: {text}");
    }
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(&format!("\n  caused by: {s}"));
        source = s.source();
    }
    text
}
