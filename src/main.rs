//! The `soy` binary: parse arguments, run the command, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = soy::cli::Cli::parse();
    match soy::cli::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("{}", soy::cli::chain(&err));
            ExitCode::from(err.exit_code())
        }
    }
}
