//! Commands: each turns parsed arguments into library calls and text on stdout/stderr.

mod args;
mod load;

use std::io::Write;

pub use args::{Cli, Command, LoadArgs, Output};

use crate::error::Error;
use crate::exit;
use crate::manifest::{self, LoadError};
use crate::metrics::presets;
use crate::plan;

/// Runs a command; returns the exit code on success.
pub fn run(cli: Cli) -> Result<u8, Error> {
    match cli.command {
        Command::Validate { files } => validate(&files),
        Command::Schema { summary: false } => out(&manifest::schema::generate_text()),
        Command::Schema { summary: true } => out(&crate::report::summary::schema_text()),
        Command::Plan { file, output } => {
            let m = manifest::load(&file)?;
            let p = plan::build(&m)?;
            match output {
                Output::Text => out(&plan::render_text(&p)),
                Output::Json => out(&(json(&p) + "\n")),
            }
        }
        Command::Apply { file, out } => {
            let m = manifest::load(&file)?;
            let p = plan::build(&m)?;
            let opts = crate::run::apply::ApplyOptions {
                out,
                command_line: std::env::args().collect(),
            };
            let outcome = crate::run::apply::apply(&m, &p, &opts)?;
            match &outcome.report {
                Some(html) => {
                    out_line(&html.display().to_string())?;
                }
                None => {
                    out_line(&outcome.run_dir.display().to_string())?;
                }
            }
            Ok(outcome.exit_code)
        }
        Command::Load(args) => load::run(&args),
        Command::Report {
            run_dir,
            format,
            template,
            output,
        } => {
            let text = crate::run::rerender::render_run(&run_dir, format, template.as_deref())
                .map_err(Error::Usage)?;
            match output.or_else(|| crate::run::rerender::default_output(&run_dir, format)) {
                Some(path) => {
                    crate::run::dir::write_atomic(&path, text.as_bytes())
                        .map_err(Error::Runtime)?;
                    out_line(&path.display().to_string())
                }
                None => out(&text),
            }
        }
        Command::DemoService(cmd) => crate::demo::run(cmd)
            .map(|()| exit::OK)
            .map_err(Error::Runtime),
        Command::Presets => {
            let mut text = String::new();
            for p in presets::PRESETS {
                text.push_str(&format!(
                    "{:<26} {} [{}]\n    {}\n",
                    p.name, p.description, p.unit, p.promql
                ));
            }
            out(&text)
        }
        Command::Version => out(&format!(
            "soy {} (manifest {})\n",
            env!("CARGO_PKG_VERSION"),
            manifest::model::API_VERSION
        )),
    }
}

fn validate(files: &[std::path::PathBuf]) -> Result<u8, Error> {
    let mut bad = 0;
    for f in files {
        match manifest::load(f) {
            Ok(_) => eprintln!("ok: {}", f.display()),
            Err(e @ LoadError::Invalid(_)) | Err(e @ LoadError::Io { .. }) => {
                bad += 1;
                eprintln!("{e}");
            }
        }
    }
    match bad {
        0 => Ok(exit::OK),
        n if files.len() == 1 => {
            let _ = n;
            Ok(exit::INVALID)
        }
        n => Err(Error::SomeInvalid(n, files.len())),
    }
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// Writes one line to stdout.
fn out_line(line: &str) -> Result<u8, Error> {
    out(&format!("{line}\n"))
}

/// Writes to stdout; a closed pipe (`soy plan | head`) is not an error.
pub(crate) fn out(text: &str) -> Result<u8, Error> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(exit::OK),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(exit::OK),
        Err(e) => Err(Error::Output(e)),
    }
}
