//! Problems found in a manifest, and how they are shown: `file:line:column`, the source line,
//! a caret under the offending text, the path inside the document, and a hint.
//!
//! The renderer is hand-written rather than miette's so the text is byte-for-byte stable
//! (no terminal width, colour or Unicode detection): the invalid-manifest snapshots test it.

use std::fmt::Write as _;

use super::yaml::Pos;

/// One problem in a manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// Where in the source; `None` when the problem concerns the file as a whole.
    pub pos: Option<Pos>,
    /// Dotted path inside the document (`load.shape.stages[2].users`), empty for the file.
    pub path: String,
    /// What is wrong, as a lowercase fragment.
    pub message: String,
    /// What to do about it, if we can tell.
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(pos: Option<Pos>, path: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            pos,
            path: path.into(),
            message: message.into(),
            help: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// All problems of one file, ready to print.
#[derive(Debug, Clone)]
pub struct Diagnostics {
    pub file: String,
    pub source: String,
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Renders every problem, sorted by position, then a count.
    pub fn render(&self) -> String {
        let mut items = self.items.clone();
        items.sort_by(|a, b| a.pos.cmp(&b.pos).then_with(|| a.message.cmp(&b.message)));
        items.dedup();
        let mut out = String::new();
        for d in &items {
            out.push_str(&render_one(&self.file, &self.source, d));
            out.push('\n');
        }
        let n = items.len();
        let _ = writeln!(
            out,
            "error: {} has {n} problem{}",
            self.file,
            if n == 1 { "" } else { "s" }
        );
        out
    }
}

fn render_one(file: &str, source: &str, d: &Diagnostic) -> String {
    let mut out = format!("error: {}\n", d.message);
    match d.pos {
        Some(pos) => {
            let gutter = pos.line.to_string().len();
            let pad = " ".repeat(gutter);
            let _ = writeln!(out, "{pad}--> {file}:{}:{}", pos.line, pos.col);
            let line = source.lines().nth(pos.line - 1).unwrap_or("");
            // Long lines are shown as a window around the column.
            let skip = pos.col.saturating_sub(WINDOW / 2 + 1);
            let shown = printable(line, skip);
            let col = pos.col - skip + usize::from(skip > 0);
            let pos = Pos {
                col,
                len: pos.len.min(WINDOW + 1 - col.min(WINDOW)).max(1),
                ..pos
            };
            let _ = writeln!(out, "{pad} |");
            let _ = writeln!(out, "{} | {}", pos.line, shown);
            let lead: String = shown
                .chars()
                .take(pos.col - 1)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let _ = writeln!(out, "{pad} | {lead}{}", "^".repeat(pos.len));
            if !d.path.is_empty() {
                let _ = writeln!(out, "{pad} = at: {}", d.path);
            }
            if let Some(help) = &d.help {
                let _ = writeln!(out, "{pad} = help: {help}");
            }
        }
        // A problem with the file as a whole points at its start, so editors and CI problem
        // matchers (`file:line:col`) can jump to it.
        None => {
            let _ = writeln!(out, "  --> {file}:1:1");
            if !d.path.is_empty() {
                let _ = writeln!(out, "   = at: {}", d.path);
            }
            if let Some(help) = &d.help {
                let _ = writeln!(out, "   = help: {help}");
            }
        }
    }
    out
}

/// Characters of a source line shown at most.
const WINDOW: usize = 120;

/// The source line as shown: `skip` characters dropped (marked `…`), long lines cut,
/// control characters made visible.
fn printable(line: &str, skip: usize) -> String {
    const MAX: usize = WINDOW;
    let mut s = String::new();
    if skip > 0 {
        s.push('…');
    }
    s.extend(line.chars().skip(skip).take(MAX).map(|c| {
        if c.is_control() && c != '\t' {
            '\u{FFFD}'
        } else {
            c
        }
    }));
    if line.chars().count() > MAX + skip {
        s.push('…');
    }
    s
}

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(1) && *d > 0)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_caret_under_column() {
        let diags = Diagnostics {
            file: "x.yaml".into(),
            source: "a: 1\nload:\n  users: -5\n".into(),
            items: vec![
                Diagnostic::new(
                    Some(Pos::new(3, 10, 2)),
                    "load.users",
                    "expected at least 1",
                )
                .with_help("users is a count"),
            ],
        };
        let text = diags.render();
        assert!(text.contains(" --> x.yaml:3:10\n"), "{text}");
        assert!(
            text.contains("3 |   users: -5\n  |          ^^\n"),
            "{text}"
        );
        assert!(text.ends_with("error: x.yaml has 1 problem\n"));
    }

    #[test]
    fn suggestions() {
        let keys = ["users", "spawn_rate", "run_time"];
        assert_eq!(did_you_mean("spawn_rat", keys), Some("spawn_rate"));
        assert_eq!(did_you_mean("runtime", keys), Some("run_time"));
        assert_eq!(did_you_mean("zzz", keys), None);
    }
}
