//! Durations as the manifest writes them: `250ms`, `90s`, `5m`, `1h30m`, `1.5s`.
//!
//! Always strings with a unit: a bare `90` is ambiguous (seconds? milliseconds?) and rejected.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration as StdDuration;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// The pattern the JSON Schema checks; `parse` accepts exactly this language.
pub const PATTERN: &str = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h|d))+$";

/// A length of time, written with units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(pub StdDuration);

impl Duration {
    pub const ZERO: Duration = Duration(StdDuration::ZERO);

    pub fn from_secs_f64(s: f64) -> Self {
        Duration(StdDuration::from_secs_f64(s.max(0.0)))
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0.as_secs_f64()
    }

    pub fn is_zero(&self) -> bool {
        self.0.is_zero()
    }
}

/// Why a text is not a duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("`{0}` is not a duration; write it like `90s`, `5m`, `1h30m` or `250ms`")]
    Malformed(String),
    #[error("`{0}` is longer than soy can count")]
    TooLong(String),
}

/// Parses `1h30m`, `250ms`, `1.5s`: one or more number-unit pairs.
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    let bad = || DurationError::Malformed(text.to_string());
    if text.is_empty() {
        return Err(bad());
    }
    let mut total = 0f64;
    let mut rest = text;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let (num, tail) = rest.split_at(num_len);
        if num.is_empty()
            || num.starts_with('.')
            || num.ends_with('.')
            || num.matches('.').count() > 1
        {
            return Err(bad());
        }
        let n: f64 = num.parse().map_err(|_| bad())?;
        let (unit, secs) = if let Some(t) = tail.strip_prefix("ms") {
            (t, 0.001)
        } else if let Some(t) = tail.strip_prefix('s') {
            (t, 1.0)
        } else if let Some(t) = tail.strip_prefix('m') {
            (t, 60.0)
        } else if let Some(t) = tail.strip_prefix('h') {
            (t, 3600.0)
        } else if let Some(t) = tail.strip_prefix('d') {
            (t, 86400.0)
        } else {
            return Err(bad());
        };
        total += n * secs;
        rest = unit;
    }
    if !total.is_finite() || total > 1e12 {
        return Err(DurationError::TooLong(text.to_string()));
    }
    Ok(Duration::from_secs_f64(total))
}

impl fmt::Display for Duration {
    /// Formats compactly, the way a user writes it: `1h30m`, `90ms`, `2.5s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::clock::Human(self.0).fmt(f)
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration string such as `90s`, `5m` or `1h30m`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
                parse(v).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": PATTERN,
            "description": "A duration with units: `250ms`, `90s`, `5m`, `1h30m`, `1d`.",
            "examples": ["30s", "5m", "1h30m"]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        for (text, secs, shown) in [
            ("90s", 90.0, "1m30s"),
            ("5m", 300.0, "5m"),
            ("1h30m", 5400.0, "1h30m"),
            ("250ms", 0.25, "250ms"),
            ("1.5s", 1.5, "1.5s"),
            ("0s", 0.0, "0s"),
        ] {
            let d = parse(text).unwrap();
            assert_eq!(d.as_secs_f64(), secs, "{text}");
            assert_eq!(d.to_string(), shown);
        }
        for bad in ["", "90", "5 m", "m", "1.s", "-5s", "5min", "1..5s"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pattern_agrees_with_parser() {
        let re = regex::Regex::new(PATTERN).unwrap();
        for text in [
            "90s", "1h30m", "250ms", "1.5s", "90", "5 m", "1.s", "5min", "2d",
        ] {
            assert_eq!(re.is_match(text), parse(text).is_ok(), "{text}");
        }
    }
}
