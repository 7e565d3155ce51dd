//! Latency distributions of the demo upstream: a fixed time or a uniform range.

use std::time::Duration;

use crate::manifest::duration;

/// A latency to add to a response.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    pub min: Duration,
    pub max: Duration,
}

impl Latency {
    /// Parses `10ms` or `5ms..20ms`.
    pub fn parse(s: &str) -> Result<Latency, super::DemoError> {
        let (a, b) = s.split_once("..").unwrap_or((s, s));
        let min = duration::parse(a.trim())?.0;
        let max = duration::parse(b.trim())?.0;
        if max < min {
            return Err(super::DemoError::Flag(format!(
                "latency `{s}`: the upper bound is below the lower"
            )));
        }
        Ok(Latency { min, max })
    }

    /// A draw from the distribution, given a uniform `u` in [0, 1).
    pub fn sample(&self, u: f64) -> Duration {
        self.min + (self.max - self.min).mul_f64(u.clamp(0.0, 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fixed_and_ranges() {
        let l = Latency::parse("5ms..20ms").unwrap();
        assert_eq!(l.sample(0.0), Duration::from_millis(5));
        assert_eq!(l.sample(0.5), Duration::from_micros(12_500));
        assert_eq!(
            Latency::parse("10ms").unwrap().sample(0.9),
            Duration::from_millis(10)
        );
        assert!(Latency::parse("20ms..5ms").is_err());
        assert!(Latency::parse("fast").is_err());
    }
}
