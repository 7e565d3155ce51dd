//! SLO limits: a plain number, a duration (`250ms`) or a percentage (`1%`).

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

use super::duration::{self, Duration};

/// The pattern string thresholds must match.
pub const PATTERN: &str = r"^-?[0-9]+(\.[0-9]+)?(ms|s|m|h|%)?$";

/// A limit an observed value is compared with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    /// A number in the unit of what it limits (milliseconds for latencies).
    Number(f64),
    /// A time: compared with latencies.
    Duration(Duration),
    /// A percentage: `1%` is 0.01 of a ratio.
    Percent(f64),
}

impl Threshold {
    /// The limit as a ratio, for error rates: `1%` and `0.01` both give 0.01.
    pub fn as_ratio(self) -> Option<f64> {
        match self {
            Threshold::Percent(p) => Some(p / 100.0),
            Threshold::Number(n) => Some(n),
            Threshold::Duration(_) => None,
        }
    }

    /// The limit in milliseconds, for latencies: `250ms`, `0.25s` and `250` all give 250.
    pub fn as_millis(self) -> Option<f64> {
        match self {
            Threshold::Duration(d) => Some(d.as_secs_f64() * 1000.0),
            Threshold::Number(n) => Some(n),
            Threshold::Percent(_) => None,
        }
    }

    /// The limit as a plain number, for metric queries.
    pub fn as_number(self) -> Option<f64> {
        match self {
            Threshold::Number(n) => Some(n),
            Threshold::Percent(p) => Some(p / 100.0),
            Threshold::Duration(d) => Some(d.as_secs_f64()),
        }
    }
}

fn parse(text: &str) -> Result<Threshold, String> {
    let t = text.trim();
    if let Some(p) = t.strip_suffix('%') {
        return p
            .parse::<f64>()
            .map(Threshold::Percent)
            .map_err(|_| format!("`{text}` is not a percentage"));
    }
    if let Ok(n) = t.parse::<f64>() {
        return Ok(Threshold::Number(n));
    }
    duration::parse(t)
        .map(Threshold::Duration)
        .map_err(|e| e.to_string())
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Threshold::Number(n) => write!(f, "{n}"),
            Threshold::Duration(d) => write!(f, "{d}"),
            Threshold::Percent(p) => write!(f, "{p}%"),
        }
    }
}

impl Serialize for Threshold {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Threshold::Number(n) => s.serialize_f64(*n),
            other => s.collect_str(other),
        }
    }
}

impl<'de> Deserialize<'de> for Threshold {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Threshold;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number, a duration such as `250ms`, or a percentage such as `1%`")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Threshold, E> {
                Ok(Threshold::Number(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Threshold, E> {
                Ok(Threshold::Number(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Threshold, E> {
                Ok(Threshold::Number(v as f64))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Threshold, E> {
                parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for Threshold {
    fn schema_name() -> Cow<'static, str> {
        "Threshold".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": ["number", "string"],
            "pattern": PATTERN,
            "description": "A limit: a number (milliseconds for latencies), a duration such as `250ms`, or a percentage such as `1%`.",
            "examples": ["250ms", "1%", 1.5]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse("1%").unwrap().as_ratio(), Some(0.01));
        assert_eq!(parse("250ms").unwrap().as_millis(), Some(250.0));
        assert_eq!(parse("0.25s").unwrap().as_millis(), Some(250.0));
        assert_eq!(parse("1.5").unwrap(), Threshold::Number(1.5));
        assert!(parse("fast").is_err());
    }
}
