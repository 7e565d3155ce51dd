//! Variable interpolation in Compose values, as `docker stack deploy` does it: `$VAR`,
//! `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}`, `${VAR?message}`,
//! `${VAR:+replacement}`, `${VAR+replacement}`, and `$$` for a literal `$`. Defaults and
//! replacements may themselves hold interpolations. Swarm's Go templates (`{{.Task.Slot}}`)
//! hold no `$` and pass through untouched. Pure: the variables come in as a lookup.

/// Why a value could not be interpolated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InterpolateError {
    /// `${VAR:?message}` or `${VAR?message}` with the variable unset (or empty, for `:?`).
    #[error("required variable `{name}` is {state}{}", message_suffix(.message))]
    Required {
        name: String,
        state: &'static str,
        message: String,
    },
    /// `${` without a closing brace, `${}`, or a name that is not a variable name.
    #[error("invalid interpolation format in `{text}`: {why}")]
    Format { text: String, why: &'static str },
}

fn message_suffix(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

/// The result of interpolating one string: the text, and the variables that were used
/// while unset (docker warns and substitutes an empty string).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interpolated {
    pub text: String,
    pub unset: Vec<String>,
    /// The variables whose values were put into the text.
    pub used: Vec<String>,
}

/// Interpolates `text` with `lookup` (a variable's value, `None` when unset).
pub fn interpolate(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Interpolated, InterpolateError> {
    let mut unset = Vec::new();
    let used = std::cell::RefCell::new(Vec::new());
    let tracking = |name: &str| {
        let v = lookup(name);
        if v.is_some() && !used.borrow().iter().any(|u: &String| u == name) {
            used.borrow_mut().push(name.to_string());
        }
        v
    };
    let out = expand(text, text, &tracking, &mut unset)?;
    Ok(Interpolated {
        text: out,
        unset,
        used: used.into_inner(),
    })
}

fn expand(
    whole: &str,
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<String>,
) -> Result<String, InterpolateError> {
    let fail = |why| InterpolateError::Format {
        text: whole.to_string(),
        why,
    };
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = closing_brace(body).ok_or_else(|| fail("`${` is never closed"))?;
            out.push_str(&braced(whole, &body[..end], lookup, unset)?);
            rest = &body[end + 1..];
        } else {
            let len = name_len(after);
            if len == 0 {
                // Docker refuses a lone `$` ("invalid interpolation format").
                return Err(fail("a `$` that starts no variable"));
            } else {
                out.push_str(&value_of(&after[..len], lookup, unset));
                rest = &after[len..];
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// `NAME`, `NAME:-x`, `NAME-x`, `NAME:?x`, `NAME?x`, `NAME:+x`, `NAME+x`.
fn braced(
    whole: &str,
    body: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<String>,
) -> Result<String, InterpolateError> {
    let fail = |why| InterpolateError::Format {
        text: whole.to_string(),
        why,
    };
    let len = name_len(body);
    if len == 0 {
        return Err(fail(if body.is_empty() {
            "`${}` names no variable"
        } else {
            "a variable name starts with a letter or `_`"
        }));
    }
    let (name, op) = body.split_at(len);
    let value = lookup(name);
    let empty = value.as_deref().is_none_or(str::is_empty);
    let (colon, op) = match op.strip_prefix(':') {
        Some(o) => (true, o),
        None => (false, op),
    };
    let missing = if colon { empty } else { value.is_none() };
    let arg = op.get(1..).unwrap_or("");
    match op.chars().next() {
        None if !colon => Ok(value_of(name, lookup, unset)),
        Some('-') => match missing {
            true => expand(whole, arg, lookup, unset),
            false => Ok(value.unwrap_or_default()),
        },
        Some('?') => match missing {
            true => Err(InterpolateError::Required {
                name: name.to_string(),
                state: if value.is_none() { "unset" } else { "empty" },
                message: expand(whole, arg, lookup, unset)?,
            }),
            false => Ok(value.unwrap_or_default()),
        },
        Some('+') => match missing {
            true => Ok(String::new()),
            false => expand(whole, arg, lookup, unset),
        },
        _ => Err(fail(
            "expected `}`, `:-`, `-`, `:?`, `?`, `:+` or `+` after the name",
        )),
    }
}

fn value_of(
    name: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<String>,
) -> String {
    lookup(name).unwrap_or_else(|| {
        if !unset.iter().any(|u| u == name) {
            unset.push(name.to_string());
        }
        String::new()
    })
}

/// Length of the variable name at the start of `s` (`[A-Za-z_][A-Za-z0-9_]*`).
fn name_len(s: &str) -> usize {
    let mut n = 0;
    for (i, c) in s.char_indices() {
        let ok = c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit());
        if !ok {
            break;
        }
        n = i + c.len_utf8();
    }
    n
}

/// The index of the `}` closing a `${`, counting nested `${ … }`.
fn closing_brace(body: &str) -> Option<usize> {
    let mut depth = 0usize;
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Result<Interpolated, InterpolateError> {
        let env = |k: &str| match k {
            "USER" => Some("alice".to_string()),
            "EMPTY" => Some(String::new()),
            "PORT" => Some("8080".to_string()),
            _ => None,
        };
        interpolate(text, &env)
    }

    fn text(t: &str) -> String {
        run(t).unwrap().text
    }

    #[test]
    fn every_form_docker_documents() {
        assert_eq!(text("$USER"), "alice");
        assert_eq!(text("${USER}"), "alice");
        assert_eq!(text("a-${USER}-b"), "a-alice-b");
        assert_eq!(text("$USER/x"), "alice/x");
        assert_eq!(text("${ADMIN_USER:-admin}"), "admin");
        assert_eq!(text("${EMPTY:-admin}"), "admin");
        assert_eq!(text("${EMPTY-admin}"), "");
        assert_eq!(text("${NOPE-admin}"), "admin");
        assert_eq!(text("${USER:-admin}"), "alice");
        assert_eq!(text("${USER:+set}"), "set");
        assert_eq!(text("${EMPTY:+set}"), "");
        assert_eq!(text("${EMPTY+set}"), "set");
        assert_eq!(text("${NOPE+set}"), "");
        assert_eq!(text("${NOPE:-${PORT}}"), "8080");
        assert_eq!(text("${NOPE:-${ALSO:-x}y}"), "xy");
    }

    #[test]
    fn dollars_and_templates() {
        assert_eq!(text("$$"), "$");
        assert_eq!(text("$$USER"), "$USER");
        assert_eq!(text("echo $$(date)"), "echo $(date)");
        assert_eq!(text("5$$"), "5$");
        assert!(run("5$").is_err(), "a lone `$` is refused, as Docker does");
        assert!(run("a $ b").is_err());
        assert_eq!(
            text("{{.Node.ID}}-{{.Task.Slot}}"),
            "{{.Node.ID}}-{{.Task.Slot}}"
        );
        assert_eq!(text("no variables"), "no variables");
        assert_eq!(text("ünïcödé ${USER} ✓"), "ünïcödé alice ✓");
    }

    #[test]
    fn unset_variables_are_empty_and_reported() {
        let r = run("${NOPE}:$ALSO_NOT:${NOPE}").unwrap();
        assert_eq!(r.text, "::");
        assert_eq!(r.unset, ["NOPE", "ALSO_NOT"]);
        let r = run("$USER@${PORT:-1}/${NOPE:-x}").unwrap();
        assert_eq!(r.used, ["USER", "PORT"]);
    }

    #[test]
    fn required_variables() {
        assert_eq!(
            run("${DB_PASSWORD:?set it in the environment}")
                .unwrap_err()
                .to_string(),
            "required variable `DB_PASSWORD` is unset: set it in the environment"
        );
        assert_eq!(
            run("${EMPTY:?}").unwrap_err().to_string(),
            "required variable `EMPTY` is empty"
        );
        assert_eq!(text("${EMPTY?must exist}"), "");
        assert!(run("${NOPE?must exist}").is_err());
        assert_eq!(text("${USER:?x}"), "alice");
    }

    #[test]
    fn bad_formats_are_errors() {
        for bad in [
            "${",
            "${USER",
            "${}",
            "${1X}",
            "${USER!x}",
            "${ USER}",
            "$",
            "$-x",
        ] {
            assert!(
                matches!(run(bad), Err(InterpolateError::Format { .. })),
                "{bad}"
            );
        }
    }
}
