//! `slos:` — thresholds on load statistics and on metric queries.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

use crate::manifest::threshold::Threshold;

/// One objective. Give `load` (a statistic of the generator) or `query` (a metric query's name),
/// and at least one of `max` and `min`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Slo {
    /// Name shown in reports; defaults to a description of the objective.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A load statistic over the measured window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load: Option<LoadStat>,
    /// Load SLOs: judge this request name only, instead of all requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    /// The name of a query under `metrics.queries`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// Query SLOs: how the series are reduced to one value: `mean`, `max`, `min`, `last` or `pNN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stat: Option<QueryStat>,
    /// Query SLOs: judge all series together (`total`) or each on its own (`series`).
    #[serde(default)]
    pub per: SloScope,
    /// The observed value must be at most this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<Threshold>,
    /// The observed value must be at least this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<Threshold>,
    /// Stop the load as soon as the objective is already broken, judged live every
    /// `metrics.evaluation_interval` (the final verdict is still the whole window's).
    #[serde(default)]
    pub abort_on_fail: bool,
    /// With `abort_on_fail`: no live judgement before this much load (default: the warm-up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<crate::manifest::duration::Duration>,
}

impl Slo {
    /// One line describing the objective: `p95 of all requests <= 250ms`.
    pub fn describe(&self) -> String {
        let s = self;
        let subject = match (&s.load, &s.query) {
            (Some(stat), _) => {
                let stat = serde_json::to_value(stat)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                match &s.request {
                    Some(r) => format!("{stat} of `{r}`"),
                    None => format!("{stat} of all requests"),
                }
            }
            (None, Some(q)) => {
                let stat = s.stat.map_or("mean".to_string(), |st| st.to_string());
                let per = match s.per {
                    SloScope::Total => "",
                    SloScope::Series => " per series",
                };
                format!("{stat} of query `{q}`{per}")
            }
            (None, None) => "nothing".into(),
        };
        let mut parts = Vec::new();
        if let Some(min) = s.min {
            parts.push(format!(">= {min}"));
        }
        if let Some(max) = s.max {
            parts.push(format!("<= {max}"));
        }
        let line = format!("{subject} {}", parts.join(" and "));
        match &s.name {
            Some(n) => format!("{n}: {line}"),
            None => line,
        }
    }
}

/// A statistic of the load generator's results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LoadStat {
    P50,
    P75,
    P90,
    P95,
    P99,
    /// Slowest response.
    Max,
    /// Mean response time.
    Mean,
    /// Failed requests over all requests (a ratio: `1%` or `0.01`).
    ErrorRate,
    /// Requests per second.
    Rps,
}

impl LoadStat {
    /// Whether thresholds are times (milliseconds).
    pub fn is_latency(self) -> bool {
        !matches!(self, LoadStat::ErrorRate | LoadStat::Rps)
    }
}

/// How query SLOs treat several series.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SloScope {
    /// All series' values pooled into one.
    #[default]
    Total,
    /// Every series must meet the objective on its own.
    Series,
}

/// Reduction of a series over the measured window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum QueryStat {
    Mean,
    Max,
    Min,
    Last,
    /// A percentile from 0 to 100.
    Percentile(f64),
}

/// The pattern `stat` must match.
pub const QUERY_STAT_PATTERN: &str = r"^(mean|max|min|last|p[0-9]{1,2}(\.[0-9]+)?)$";

impl QueryStat {
    fn parse(s: &str) -> Result<Self, String> {
        match s {
            "mean" => Ok(QueryStat::Mean),
            "max" => Ok(QueryStat::Max),
            "min" => Ok(QueryStat::Min),
            "last" => Ok(QueryStat::Last),
            _ => s
                .strip_prefix('p')
                .and_then(|n| n.parse::<f64>().ok())
                .filter(|p| (0.0..100.0).contains(p))
                .map(QueryStat::Percentile)
                .ok_or_else(|| {
                    format!("`{s}` is not a statistic; use mean, max, min, last or pNN (e.g. p95)")
                }),
        }
    }
}

impl fmt::Display for QueryStat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueryStat::Mean => f.write_str("mean"),
            QueryStat::Max => f.write_str("max"),
            QueryStat::Min => f.write_str("min"),
            QueryStat::Last => f.write_str("last"),
            QueryStat::Percentile(p) => write!(f, "p{p}"),
        }
    }
}

impl Serialize for QueryStat {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for QueryStat {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = QueryStat;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("mean, max, min, last or pNN")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<QueryStat, E> {
                QueryStat::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

impl JsonSchema for QueryStat {
    fn schema_name() -> Cow<'static, str> {
        "QueryStat".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": QUERY_STAT_PATTERN,
            "description": "How a series is reduced: `mean`, `max`, `min`, `last`, or a percentile `pNN` such as `p95`.",
            "examples": ["mean", "max", "p95"]
        })
    }
}
