//! The values a PromQL expression evaluates to.

/// Label pairs sorted by name; the metric name is the `__name__` label.
pub type Labels = Vec<(String, String)>;

/// Labels shared between the steps and nodes of a query (cloning is a reference count).
pub type SharedLabels = std::sync::Arc<Labels>;

/// `(milliseconds, value)`.
pub type Point = (i64, f64);

/// Prometheus' staleness marker: a NaN with this exact bit pattern ends a series.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// Whether `v` is the staleness marker (an ordinary NaN is not).
pub fn is_stale(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// One element of an instant vector.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: SharedLabels,
    pub value: f64,
    /// The sample's own time when it came straight from a selector (for `timestamp()`).
    pub(crate) ts: Option<i64>,
    /// `__name__` is to be removed when the query ends (Prometheus' delayed name removal).
    pub(crate) drop_name: bool,
}

impl Sample {
    pub fn new(labels: Labels, value: f64) -> Sample {
        Sample {
            labels: SharedLabels::new(labels),
            value,
            ts: None,
            drop_name: false,
        }
    }
}

/// One series of a range vector or of a range query's result.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeSeries {
    pub labels: SharedLabels,
    pub points: Vec<Point>,
    pub(crate) drop_name: bool,
}

impl RangeSeries {
    pub fn new(labels: Labels, points: Vec<Point>) -> RangeSeries {
        RangeSeries {
            labels: SharedLabels::new(labels),
            points,
            drop_name: false,
        }
    }
}

/// What an expression evaluates to.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar(f64),
    String(String),
    Vector(Vec<Sample>),
    Matrix(Vec<RangeSeries>),
}

impl Value {
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Scalar(_) => "scalar",
            Value::String(_) => "string",
            Value::Vector(_) => "instant vector",
            Value::Matrix(_) => "range vector",
        }
    }
}

/// The value of label `name`, or "" when absent.
pub(crate) fn get<'a>(labels: &'a Labels, name: &str) -> &'a str {
    labels
        .binary_search_by(|(k, _)| k.as_str().cmp(name))
        .map(|i| labels[i].1.as_str())
        .unwrap_or("")
}

/// Sets (or, with an empty value, removes) a label, keeping the order.
pub(crate) fn set(labels: &mut Labels, name: &str, value: &str) {
    match labels.binary_search_by(|(k, _)| k.as_str().cmp(name)) {
        Ok(i) if value.is_empty() => {
            labels.remove(i);
        }
        Ok(i) => labels[i].1 = value.to_string(),
        Err(_) if value.is_empty() => {}
        Err(i) => labels.insert(i, (name.to_string(), value.to_string())),
    }
}

/// Removes `__name__`.
pub(crate) fn without_name(labels: &Labels) -> Labels {
    labels
        .iter()
        .filter(|(k, _)| k != "__name__")
        .cloned()
        .collect()
}

/// `{__name__="x", a="1"}` as Prometheus prints label sets in messages.
pub fn format_labels(labels: &Labels) -> String {
    let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", pairs.join(", "))
}

/// What a query noticed without failing: Prometheus' warnings and infos.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Annotation {
    Warning(String),
    Info(String),
}

/// A result with the annotations gathered while computing it.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer<T> {
    pub value: T,
    pub annotations: Vec<Annotation>,
}
