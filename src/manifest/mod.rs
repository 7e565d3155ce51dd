//! Reading manifests: text → YAML with positions → JSON Schema → typed model → semantic checks.
//! Every stage reports all its problems at once as positioned diagnostics; a later stage runs
//! only on what the earlier one accepted.

pub mod diagnostic;
pub mod duration;
pub mod env;
pub mod model;
pub mod pointer;
pub mod schema;
mod schema_check;
pub mod semantic;
mod source;
pub mod template;
pub mod threshold;
pub mod yaml;

use std::path::{Path, PathBuf};

use serde_json::Value;

use diagnostic::{Diagnostic, Diagnostics};
use model::Experiment;
use pointer::Pointer;
use yaml::SourceMap;

pub use source::MAX_BYTES;

/// A manifest that passed every check.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The path as given.
    pub path: PathBuf,
    /// The folder relative paths in the manifest resolve from.
    pub dir: PathBuf,
    /// The exact source text.
    pub source: String,
    /// The document as JSON, for positions of later findings.
    pub doc: Value,
    pub map: SourceMap,
    pub experiment: Experiment,
}

/// Why a manifest could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read manifest {path}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", .0.render().trim_end())]
    Invalid(Diagnostics),
}

/// Reads and checks a manifest file.
pub fn load(path: &Path) -> Result<Manifest, LoadError> {
    checked(load_unchecked(path)?)
}

/// The manifest when its checks found nothing, else its problems as the error.
fn checked((m, problems): (Manifest, Vec<Diagnostic>)) -> Result<Manifest, LoadError> {
    if problems.is_empty() {
        return Ok(m);
    }
    Err(LoadError::Invalid(Diagnostics {
        file: m.path.display().to_string(),
        source: m.source,
        items: problems,
    }))
}

/// Reads a manifest through every stage up to the typed model, and returns it with what its
/// semantic checks found, so a later stage can add its own findings and report all at once.
pub fn load_unchecked(path: &Path) -> Result<(Manifest, Vec<Diagnostic>), LoadError> {
    let file = path.display().to_string();
    let text = match source::read(path) {
        Ok(t) => t,
        Err(source::ReadError::Io(e)) => {
            return Err(LoadError::Io {
                path: file,
                source: e,
            });
        }
        Err(source::ReadError::Invalid(items, text)) => {
            return Err(LoadError::Invalid(Diagnostics {
                file,
                source: text,
                items,
            }));
        }
    };
    let dir = path
        .parent()
        .map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        })
        .unwrap_or(Path::new("."))
        .to_path_buf();
    parse_unchecked(path.to_path_buf(), dir, text)
}

/// Checks manifest text; `dir` is where its relative paths point from.
pub fn parse(path: PathBuf, dir: PathBuf, text: String) -> Result<Manifest, LoadError> {
    checked(parse_unchecked(path, dir, text)?)
}

/// The error of a manifest at `path` with these problems.
fn invalid(path: &Path, items: Vec<Diagnostic>, text: &str) -> LoadError {
    LoadError::Invalid(Diagnostics {
        file: path.display().to_string(),
        source: text.to_string(),
        items,
    })
}

/// As `parse`, returning the semantic findings with the manifest instead of failing.
fn parse_unchecked(
    path: PathBuf,
    dir: PathBuf,
    text: String,
) -> Result<(Manifest, Vec<Diagnostic>), LoadError> {
    let (doc, map) = match yaml::parse(&text) {
        Ok(v) => v,
        Err(e) => {
            let d = Diagnostic {
                pos: Some(e.pos),
                path: if e.pointer.is_empty() {
                    String::new()
                } else {
                    Pointer::parse(&e.pointer, &Value::Null).dotted()
                },
                message: e.message,
                help: e.help,
            };
            return Err(invalid(&path, vec![d], &text));
        }
    };
    if !doc.is_object() {
        let found = match &doc {
            Value::Array(_) => "a list",
            Value::String(_) => "a string",
            Value::Null => "nothing",
            _ => "a single value",
        };
        let d = Diagnostic::new(
            map.value_pos(""),
            "",
            format!("expected a mapping at the top level, found {found}"),
        )
        .with_help(
            "a manifest is a mapping that starts with `apiVersion: soy/v1` and `kind: Experiment`",
        );
        return Err(invalid(&path, vec![d], &text));
    }
    from_doc(path, dir, text, doc, map)
}

/// The stages after YAML for a document already read: the schema, the typed model and the
/// semantic checks. A campaign's points come this way, each its manifest's document with
/// the point's values set (and `map` pointing the set values at the matrix).
pub fn from_doc(
    path: PathBuf,
    dir: PathBuf,
    text: String,
    doc: Value,
    map: SourceMap,
) -> Result<(Manifest, Vec<Diagnostic>), LoadError> {
    let problems = schema_check::check(&doc, &map);
    if !problems.is_empty() {
        return Err(invalid(&path, problems, &text));
    }
    let experiment: Experiment = match serde_path_to_error::deserialize(&doc) {
        Ok(e) => e,
        Err(e) => {
            let ptr = path_to_pointer(e.path());
            let d = Diagnostic::new(
                map.value_pos(&ptr.to_string()),
                ptr.dotted(),
                e.inner().to_string(),
            );
            return Err(invalid(&path, vec![d], &text));
        }
    };
    let problems = semantic::check(&experiment, &doc, &map, &dir);
    let m = Manifest {
        path,
        dir,
        source: text,
        doc,
        map,
        experiment,
    };
    Ok((m, problems))
}

fn path_to_pointer(path: &serde_path_to_error::Path) -> Pointer {
    use serde_path_to_error::Segment;
    let mut p = Pointer::root();
    for seg in path.iter() {
        p = match seg {
            Segment::Seq { index } => p.index(*index),
            Segment::Map { key } => p.key(key),
            Segment::Enum { variant } => p.key(variant),
            Segment::Unknown => p,
        };
    }
    p
}
