//! A store as OpenMetrics text: every series' samples with their timestamps, families
//! grouped, `# EOF` at the end — what `promtool tsdb create-blocks-from openmetrics` reads to
//! load a run into a Prometheus. Staleness markers are left out (the format has none).

use std::collections::BTreeMap;

use crate::exposition::{self, Writer};
use crate::tsdb::{Labels, Store, is_stale};

/// A series with its samples.
type Stored = (Labels, Vec<(i64, f64)>);

/// The whole store as OpenMetrics text.
pub fn write(store: &Store) -> String {
    let mut by_family: BTreeMap<String, Vec<Stored>> = BTreeMap::new();
    for (labels, points) in store.select(&[], i64::MIN, i64::MAX) {
        let name = labels
            .iter()
            .find(|(k, _)| k == "__name__")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        if name.is_empty() {
            continue;
        }
        by_family.entry(name).or_default().push((labels, points));
    }
    let mut w = Writer::new();
    for (name, series) in by_family {
        w.kind(&name, "unknown");
        for (labels, points) in series {
            let head = exposition::series(
                &name,
                labels
                    .iter()
                    .filter(|(k, _)| k != "__name__")
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            );
            for (t, v) in points {
                if !is_stale(v) {
                    w.series_sample(&head, v, Some(t));
                }
            }
        }
    }
    w.eof();
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_grouped_with_timestamps_and_no_stale_markers() {
        let mut s = Store::new(10);
        let l = |n: &str, a: &str| -> Labels {
            vec![("__name__".into(), n.into()), ("a".into(), a.into())]
        };
        s.append(&l("x", "1"), 1500, 2.0).unwrap();
        s.append(&l("y", "q\""), 1000, 1.0).unwrap();
        s.append(
            &l("x", "1"),
            2500,
            f64::from_bits(crate::tsdb::STALE_NAN_BITS),
        )
        .unwrap();
        let text = write(&s);
        assert_eq!(
            text,
            "# TYPE x unknown\nx{a=\"1\"} 2 1.500\n# TYPE y unknown\ny{a=\"q\\\"\"} 1 1.000\n# EOF\n"
        );
        let parsed = crate::exposition::parse(&text);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        assert_eq!(parsed.samples[0].timestamp_ms, Some(1500));
    }
}
