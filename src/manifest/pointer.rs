//! Paths inside a manifest: JSON pointers for lookups, dotted paths for people.
//!
//! Every diagnostic names the node it is about twice: by JSON pointer (`/load/tasks/0/name`)
//! to find its source position, and as a dotted path (`load.tasks[0].name`) to show the user.

use std::fmt;

use serde_json::Value;

/// One step into a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// A path from the document root, built as checks walk the manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pointer(Vec<Segment>);

impl Pointer {
    pub fn root() -> Self {
        Pointer(Vec::new())
    }

    /// This path extended by a mapping key.
    pub fn key(&self, key: &str) -> Self {
        let mut p = self.clone();
        p.0.push(Segment::Key(key.to_string()));
        p
    }

    /// The steps of this path.
    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// This path extended by a list index.
    pub fn index(&self, i: usize) -> Self {
        let mut p = self.clone();
        p.0.push(Segment::Index(i));
        p
    }

    /// Parses a JSON pointer, using `doc` to tell list indices from numeric keys.
    pub fn parse(pointer: &str, doc: &Value) -> Self {
        let mut out = Pointer::root();
        let mut node = Some(doc);
        for raw in pointer.split('/').skip(1) {
            let seg = raw.replace("~1", "/").replace("~0", "~");
            match (node, seg.parse::<usize>()) {
                (Some(Value::Array(items)), Ok(i)) => {
                    node = items.get(i);
                    out.0.push(Segment::Index(i));
                }
                (n, _) => {
                    node = n.and_then(|n| n.get(&seg));
                    out.0.push(Segment::Key(seg));
                }
            }
        }
        out
    }

    /// The dotted form people read: `load.shape.stages[2].users`; `(root)` for the document.
    pub fn dotted(&self) -> String {
        if self.0.is_empty() {
            return "(root)".to_string();
        }
        let mut s = String::new();
        for seg in &self.0 {
            match seg {
                Segment::Index(i) => s.push_str(&format!("[{i}]")),
                Segment::Key(k) => {
                    if !s.is_empty() {
                        s.push('.');
                    }
                    let plain = !k.is_empty()
                        && k.chars()
                            .all(|c| c.is_alphanumeric() || c == '_' || c == '-');
                    if plain {
                        s.push_str(k);
                    } else {
                        s.push_str(&format!("{k:?}"));
                    }
                }
            }
        }
        s
    }

    /// This path without its last step (the root stays the root).
    pub fn parent(&self) -> Self {
        let mut p = self.clone();
        p.0.pop();
        p
    }

    /// The last key of the path, if it ends in one.
    pub fn last_key(&self) -> Option<&str> {
        match self.0.last() {
            Some(Segment::Key(k)) => Some(k),
            _ => None,
        }
    }
}

impl fmt::Display for Pointer {
    /// Formats as a JSON pointer (`/load/tasks/0`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for seg in &self.0 {
            match seg {
                Segment::Key(k) => write!(f, "/{}", k.replace('~', "~0").replace('/', "~1"))?,
                Segment::Index(i) => write!(f, "/{i}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_dots() {
        let doc = serde_json::json!({"load": {"stages": [{"a/b": 1}], "200": {"x": 1}}});
        let p = Pointer::parse("/load/stages/0/a~1b", &doc);
        assert_eq!(p.to_string(), "/load/stages/0/a~1b");
        assert_eq!(p.dotted(), "load.stages[0].\"a/b\"");
        assert_eq!(Pointer::parse("/load/200/x", &doc).dotted(), "load.200.x");
        assert_eq!(Pointer::root().dotted(), "(root)");
    }
}
