//! What goes wrong reading a metrics file or building a label matcher.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum TsdbError {
    #[error("cannot read {}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is damaged", .path.display())]
    Damaged {
        path: PathBuf,
        #[source]
        source: Corrupt,
    },
    #[error("invalid regular expression {value:?} for label {name:?}")]
    Regex {
        name: String,
        value: String,
        #[source]
        source: regex::Error,
    },
}

/// What is wrong with a file's bytes: where, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Corrupt(pub String);

impl From<String> for Corrupt {
    fn from(s: String) -> Corrupt {
        Corrupt(s)
    }
}
