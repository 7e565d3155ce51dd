//! Reading a manifest file as text, refusing what is not a manifest before YAML parsing:
//! files too large, binary content, tabs used for indentation, empty documents.

use std::path::Path;

use super::diagnostic::Diagnostic;
use super::yaml::Pos;

/// Largest manifest accepted. Real ones are a few kilobytes.
pub const MAX_BYTES: u64 = 1024 * 1024;

/// Why a file could not be read as manifest text.
pub enum ReadError {
    /// The file could not be opened or read.
    Io(std::io::Error),
    /// It was read but is not manifest text; the diagnostics say why.
    Invalid(Vec<Diagnostic>, String),
}

/// Reads `path` as UTF-8 text within the size limit.
pub fn read(path: &Path) -> Result<String, ReadError> {
    let meta = std::fs::metadata(path).map_err(ReadError::Io)?;
    if meta.is_dir() {
        return Err(ReadError::Io(std::io::Error::other(
            "is a directory, not a manifest file",
        )));
    }
    if meta.len() > MAX_BYTES {
        let d = Diagnostic::new(
            None,
            "",
            format!(
                "the file is {}; manifests are limited to {}",
                human_bytes(meta.len()),
                human_bytes(MAX_BYTES)
            ),
        )
        .with_help(
            "a manifest describes an experiment; keep data such as traces in separate files",
        );
        return Err(ReadError::Invalid(vec![d], String::new()));
    }
    let bytes = std::fs::read(path).map_err(ReadError::Io)?;
    decode(bytes)
}

/// Checks that bytes are manifest text: UTF-8, no NUL, no tab indentation, not empty.
pub fn decode(bytes: Vec<u8>) -> Result<String, ReadError> {
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let head = String::from_utf8_lossy(&e.as_bytes()[..valid]).into_owned();
            let pos = end_pos(&head);
            let d = Diagnostic::new(
                Some(pos),
                "",
                format!("not a text file: byte {valid} is not valid UTF-8"),
            )
            .with_help("manifests are UTF-8 YAML text");
            return Err(ReadError::Invalid(vec![d], head));
        }
    };
    let text = text
        .strip_prefix('\u{feff}')
        .map(str::to_string)
        .unwrap_or(text);
    if let Some(i) = text.find('\0') {
        let d = Diagnostic::new(
            Some(end_pos(&text[..i])),
            "",
            format!("not a text file: a NUL byte at byte {i}"),
        )
        .with_help("manifests are UTF-8 YAML text");
        return Err(ReadError::Invalid(vec![d], text));
    }
    let tabs = tab_indents(&text);
    if !tabs.is_empty() {
        return Err(ReadError::Invalid(tabs, text));
    }
    if text.lines().all(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#') || t == "---" || t == "..."
    }) {
        let d = Diagnostic::new(None, "", "the manifest is empty").with_help(
            "a manifest is a mapping that starts with `apiVersion: soy/v1` and `kind: Experiment`; `soy schema` prints the full format",
        );
        return Err(ReadError::Invalid(vec![d], text));
    }
    Ok(text)
}

/// Lines whose indentation contains a tab: YAML forbids tabs there.
fn tab_indents(text: &str) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let indent: &str = &line[..line.len() - line.trim_start_matches([' ', '\t']).len()];
        if let Some(col) = indent.find('\t') {
            if line.trim().is_empty() {
                continue;
            }
            out.push(
                Diagnostic::new(
                    Some(Pos::new(i + 1, col + 1, 1)),
                    "",
                    "a tab used for indentation",
                )
                .with_help("YAML indents with spaces only; replace the tab with spaces"),
            );
            if out.len() == 10 {
                break;
            }
        }
    }
    out
}

/// The position just after `head`.
fn end_pos(head: &str) -> Pos {
    let line = head.matches('\n').count() + 1;
    let col = head.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Pos::new(line, col, 1)
}

fn human_bytes(n: u64) -> String {
    if n >= 1024 * 1024 {
        format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0))
    } else if n >= 1024 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{n} bytes")
    }
}
