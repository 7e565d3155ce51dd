//! `${env:NAME}` references: secrets and machine-specific values read from the environment
//! at the moment of use. They stay unresolved in the model, the plan and every file soy
//! writes, so a secret's value never reaches an output.

/// A reference that cannot be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    #[error("`${{env:` is not closed with `}}`")]
    Unclosed,
    #[error("`${{env:{0}}}` does not name an environment variable")]
    NotAName(String),
    #[error("environment variable `{0}` is not set")]
    Unset(String),
}

/// Checks that every `${env:` in `s` is closed and names a valid variable.
pub fn check_refs(s: &str) -> Result<(), EnvError> {
    for_each_ref(s, |_| String::new()).map(|_| ())
}

/// Replaces every `${env:NAME}` with the variable's value, through `lookup`.
pub fn resolve(s: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<String, EnvError> {
    let mut missing = None;
    let out = for_each_ref(s, |name| match lookup(name) {
        Some(v) => v,
        None => {
            missing.get_or_insert_with(|| name.to_string());
            String::new()
        }
    })?;
    match missing {
        Some(name) => Err(EnvError::Unset(name)),
        None => Ok(out),
    }
}

/// Resolves from the process environment.
pub fn resolve_from_process(s: &str) -> Result<String, EnvError> {
    resolve(s, |name| std::env::var(name).ok())
}

/// Letters, digits and `_`, not starting with a digit: environment and template variable names.
pub fn is_identifier(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn for_each_ref(s: &str, mut f: impl FnMut(&str) -> String) -> Result<String, EnvError> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("${env:") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 6..];
        let end = after.find('}').ok_or(EnvError::Unclosed)?;
        let name = &after[..end];
        if !is_identifier(name) {
            return Err(EnvError::NotAName(name.to_string()));
        }
        out.push_str(&f(name));
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_and_reports() {
        let look = |n: &str| (n == "TOKEN").then(|| "s3cret".to_string());
        assert_eq!(
            resolve("Bearer ${env:TOKEN}", look).unwrap(),
            "Bearer s3cret"
        );
        assert!(resolve("${env:NOPE}", look).unwrap_err() == EnvError::Unset("NOPE".into()));
        assert!(check_refs("${env:TOKEN").is_err());
        assert!(check_refs("${env:1X}").is_err());
        assert!(check_refs("no refs {{ x }}").is_ok());
    }
}
