//! Wall-clock time and the calendar: Unix seconds now, days to dates, ISO 8601 text, and
//! durations written the way a user writes them. A bottom layer: it imports nothing from soy.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Unix seconds now.
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Days since 1970-01-01 to (year, month 1–12, day 1–31), proleptic Gregorian, for any
/// day before or after the epoch (Howard Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `2026-11-27T17:28:40Z` from Unix seconds.
pub fn iso(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// A duration displayed compactly, the way a user writes it: `1h30m`, `90ms`, `2.5s`.
#[derive(Debug, Clone, Copy)]
pub struct Human(pub Duration);

impl fmt::Display for Human {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if ms == 0 {
            if self.0.is_zero() {
                return f.write_str("0s");
            }
            // Under a millisecond: `0.5ms`, not `0s`.
            return write!(f, "{}ms", self.0.as_secs_f64() * 1000.0);
        }
        if !ms.is_multiple_of(1000) {
            return if ms < 1000 {
                write!(f, "{ms}ms")
            } else {
                write!(f, "{}s", self.0.as_secs_f64())
            };
        }
        let mut secs = ms / 1000;
        let (h, m) = (secs / 3600, (secs % 3600) / 60);
        secs %= 60;
        if h > 0 {
            write!(f, "{h}h")?;
        }
        if m > 0 {
            write!(f, "{m}m")?;
        }
        if secs > 0 {
            write!(f, "{secs}s")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(iso(1_795_800_520), "2026-11-27T17:28:40Z");
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        // 2024-02-29
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(19_783), (2024, 3, 1));
    }

    #[test]
    fn human_durations() {
        let h = |ms: u64| Human(Duration::from_millis(ms)).to_string();
        assert_eq!(h(0), "0s");
        assert_eq!(h(250), "250ms");
        assert_eq!(h(1500), "1.5s");
        assert_eq!(h(5_400_000), "1h30m");
        assert_eq!(h(90_000), "1m30s");
        assert_eq!(Human(Duration::from_micros(500)).to_string(), "0.5ms");
    }
}
