//! The command line, declared with clap's derive API.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// soy runs performance experiments from declarative manifests: deploy a stack, drive load,
/// collect PromQL metrics, judge SLOs and write reports.
#[derive(Debug, Parser)]
#[command(name = "soy", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check manifests: YAML, schema and cross-references, every problem at once.
    Validate {
        /// Manifest files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print the manifest's JSON Schema.
    Schema,
    /// Show what `apply` would do: phases, stack, load shape, rendered queries, SLOs.
    Plan {
        file: PathBuf,
        #[arg(long, short, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// Run an experiment: deploy, load, collect, tear down, judge, report.
    Apply {
        file: PathBuf,
        /// Root folder for run directories.
        #[arg(long, default_value = "reports")]
        out: PathBuf,
    },
    /// List the built-in PromQL presets.
    Presets,
    /// Print soy's version and the manifest version it reads.
    Version,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
}
