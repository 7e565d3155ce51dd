//! A JSON Pointer (RFC 6901) looked up in a response body without building the document:
//! the scanner skips what the pointer does not name and returns the bytes of the value it
//! does, which alone are then parsed. `None` means "not found or not simple": the caller
//! parses the whole body then (and reports what is wrong with it). Pure.

/// The bytes of the value `pointer` names in `doc`, when the scan can tell.
pub fn find<'a>(doc: &'a [u8], pointer: &str) -> Option<&'a [u8]> {
    if !pointer.is_empty() && !pointer.starts_with('/') {
        return None;
    }
    let mut s = Scanner { b: doc, i: 0 };
    s.ws();
    let mut tokens = pointer.split('/').skip(1);
    loop {
        let Some(token) = tokens.next() else {
            let start = s.i;
            s.value()?;
            return Some(&doc[start..s.i]);
        };
        if token.contains('~') {
            // Escaped tokens (`~0`, `~1`): left to the full parse.
            return None;
        }
        match s.peek()? {
            b'{' => {
                s.i += 1;
                loop {
                    s.ws();
                    if s.peek()? == b'}' {
                        return None;
                    }
                    let key = s.string()?;
                    s.ws();
                    s.expect(b':')?;
                    s.ws();
                    // A key with escapes is compared by the full parse.
                    if key.contains(&b'\\') {
                        return None;
                    }
                    if key == token.as_bytes() {
                        break;
                    }
                    s.value()?;
                    s.ws();
                    match s.peek()? {
                        b',' => s.i += 1,
                        _ => return None,
                    }
                }
            }
            b'[' => {
                if token.len() > 1 && token.starts_with('0') {
                    return None;
                }
                let n: usize = token.parse().ok()?;
                s.i += 1;
                for _ in 0..n {
                    s.ws();
                    s.value()?;
                    s.ws();
                    match s.peek()? {
                        b',' => s.i += 1,
                        _ => return None,
                    }
                }
                s.ws();
                if s.peek()? == b']' {
                    return None;
                }
            }
            _ => return None,
        }
        s.ws();
    }
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn expect(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    /// A string's raw contents (escapes kept), after its closing quote.
    fn string(&mut self) -> Option<&'a [u8]> {
        self.expect(b'"')?;
        let start = self.i;
        loop {
            match self.peek()? {
                b'"' => {
                    self.i += 1;
                    return Some(&self.b[start..self.i - 1]);
                }
                b'\\' => self.i += 2,
                c if c < 0x20 => return None,
                _ => self.i += 1,
            }
        }
    }

    /// Skips one value (its syntax checked only as far as finding its end needs).
    fn value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match self.peek()? {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.i += 1;
                                return Some(());
                            }
                        }
                        _ => {}
                    }
                    self.i += 1;
                }
            }
            _ => {
                let start = self.i;
                while let Some(c) = self.peek() {
                    if matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                        break;
                    }
                    self.i += 1;
                }
                (self.i > start).then_some(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scan agrees with serde_json's `pointer` wherever it answers.
    fn agrees(doc: &str, pointer: &str) -> bool {
        let full: serde_json::Value = serde_json::from_str(doc).unwrap();
        let want = full.pointer(pointer);
        match find(doc.as_bytes(), pointer) {
            Some(bytes) => {
                let got: serde_json::Value = serde_json::from_slice(bytes).unwrap();
                assert_eq!(Some(&got), want, "{doc} {pointer}");
                true
            }
            None => false,
        }
    }

    #[test]
    fn the_scan_finds_what_serde_json_finds() {
        let doc = r#" {"token":"abc123", "n": -1.5e3, "t": true, "z": null,
            "items":[{"id":7,"name":"x, \"quoted\" ]}"},{"id":8,"tags":["a","b"]}],
            "nested":{"a":{"b":[1,[2,3],{"c":"d"}]}}, "empty": {}, "list": []} "#;
        for p in [
            "",
            "/token",
            "/n",
            "/t",
            "/z",
            "/items",
            "/items/0/id",
            "/items/0/name",
            "/items/1/tags/1",
            "/nested/a/b/1/0",
            "/nested/a/b/2/c",
            "/empty",
            "/list",
        ] {
            assert!(agrees(doc, p), "found {p}");
        }
        // Missing, out of range, through a scalar, a leading zero: not found here (the full
        // parse then says so).
        for p in [
            "/nope",
            "/items/2",
            "/token/x",
            "/items/01",
            "/list/0",
            "/empty/a",
            "x",
        ] {
            assert!(find(doc.as_bytes(), p).is_none(), "{p}");
        }
        // Escapes in the pointer or in a key are left to the full parse.
        assert!(find(br#"{"a/b":1}"#, "/a~1b").is_none());
        assert!(find(br#"{"a\u0062":1}"#, "/ab").is_none());
    }

    #[test]
    fn random_documents_agree_with_serde_json() {
        let mut rng = crate::splitmix::SplitMix(11);
        fn doc_of(rng: &mut crate::splitmix::SplitMix, depth: usize) -> serde_json::Value {
            use serde_json::json;
            match if depth > 3 {
                rng.below(4)
            } else {
                rng.below(6)
            } {
                0 => json!(rng.below(1000) as i64 - 500),
                1 => json!(format!("s{}\"\\,]}}", rng.below(50))),
                2 => json!(rng.below(2) == 0),
                3 => serde_json::Value::Null,
                4 => (0..rng.below(4)).map(|_| doc_of(rng, depth + 1)).collect(),
                _ => serde_json::Value::Object(
                    (0..rng.below(4))
                        .map(|i| (format!("k{i}"), doc_of(rng, depth + 1)))
                        .collect(),
                ),
            }
        }
        fn pointers(v: &serde_json::Value, at: String, out: &mut Vec<String>) {
            out.push(at.clone());
            match v {
                serde_json::Value::Array(a) => {
                    for (i, x) in a.iter().enumerate() {
                        pointers(x, format!("{at}/{i}"), out);
                    }
                }
                serde_json::Value::Object(o) => {
                    for (k, x) in o {
                        pointers(x, format!("{at}/{k}"), out);
                    }
                }
                _ => {}
            }
        }
        for _ in 0..300 {
            let doc = doc_of(&mut rng, 0);
            let text = if rng.below(2) == 0 {
                serde_json::to_string(&doc).unwrap()
            } else {
                serde_json::to_string_pretty(&doc).unwrap()
            };
            let mut ps = Vec::new();
            pointers(&doc, String::new(), &mut ps);
            for p in ps {
                assert!(agrees(&text, &p), "{text} {p}");
            }
        }
    }
}
