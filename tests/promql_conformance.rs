//! Prometheus' own PromQL test scripts (promqltest format, see FORMAT.md in the data folder)
//! run against soy's embedded evaluator. `cargo test --release --test promql_conformance`
//! reads every `.test` file in `SOY_PROMQL_TESTDATA` (default ../shared/promql-testdata; a
//! clear error when neither is there),
//! prints `FILE: N passed, N failed, N skipped` per file and a total line, and fails when the
//! pass rate over the cases not skipped drops under `FLOOR`. Skipped: cases that rely on
//! native histograms or on experimental PromQL (syntax the parser rejects, experimental
//! functions and modifiers, start timestamps, type-and-unit labels).
//! `SOY_PROMQL_VERBOSE=1` prints every failure.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use promql_parser::label::Matcher;
use soy::promql::{self, Labels, Options, RangeSeries, STALE_NAN_BITS, Storage, Value};

/// The lowest pass rate (over cases not skipped) this suite accepts; raised as soy improves.
const FLOOR: f64 = 0.99;

#[derive(Default)]
struct Mem {
    series: BTreeMap<Labels, Vec<(i64, f64)>>,
    /// Metric names with native-histogram samples (or synthesized by load_with_nhcb).
    native: HashSet<String>,
    /// The label sets of those series.
    native_series: Vec<Labels>,
    /// Data loaded with start timestamps or type-and-unit labels (experimental).
    experimental: bool,
}

impl Storage for Mem {
    fn select(
        &self,
        matchers: &[Matcher],
        start: i64,
        end: i64,
    ) -> Result<Vec<RangeSeries>, soy::promql::StorageError> {
        let mut out = Vec::new();
        for (labels, points) in &self.series {
            let ok = matchers.iter().all(|m| {
                let v = labels
                    .iter()
                    .find(|(k, _)| *k == m.name)
                    .map_or("", |(_, v)| v.as_str());
                m.is_match(v)
            });
            if !ok {
                continue;
            }
            let pts: Vec<(i64, f64)> = points
                .iter()
                .copied()
                .filter(|p| p.0 >= start && p.0 <= end)
                .collect();
            if !pts.is_empty() {
                out.push(RangeSeries::new(labels.clone(), pts));
            }
        }
        Ok(out)
    }
}

#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
    skipped: usize,
}

fn main() {
    // SOY_PROMQL_TESTDATA, else ../shared/promql-testdata beside the repository. The data is
    // Prometheus' (Apache-2.0) and is not copied into this repository.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::var_os("SOY_PROMQL_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/promql-testdata"));
    if !dir.is_dir() {
        eprintln!(
            "error: Prometheus' PromQL test scripts are not at {}\n\
             set SOY_PROMQL_TESTDATA to a copy of prometheus/promql/promqltest/testdata \
             (or put it at ../shared/promql-testdata); the conformance run needs it",
            dir.display()
        );
        std::process::exit(1);
    }
    println!("promql testdata: {}", dir.display());
    let verbose = std::env::var_os("SOY_PROMQL_VERBOSE").is_some();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| {
            panic!(
                "cannot read {} (set SOY_PROMQL_TESTDATA): {e}",
                dir.display()
            )
        })
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .test files in {}", dir.display());
    let mut total = Tally::default();
    let mut failures: BTreeMap<String, usize> = BTreeMap::new();
    let mut skips: BTreeMap<String, usize> = BTreeMap::new();
    for f in &files {
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let text = std::fs::read_to_string(f).expect("read test file");
        let t = run_file(&name, &text, verbose, &mut failures, &mut skips);
        println!(
            "{name}: {} passed, {} failed, {} skipped",
            t.passed, t.failed, t.skipped
        );
        total.passed += t.passed;
        total.failed += t.failed;
        total.skipped += t.skipped;
    }
    println!(
        "total: {} passed, {} failed, {} skipped",
        total.passed, total.failed, total.skipped
    );
    println!("skipped, by reason:");
    for (why, n) in &skips {
        println!("  {n:5}  {why}");
    }
    println!("failure classes:");
    let mut classes: Vec<(&String, &usize)> = failures.iter().collect();
    classes.sort_by(|a, b| b.1.cmp(a.1));
    for (c, n) in classes {
        println!("  {n:5}  {c}");
    }
    let rate = total.passed as f64 / (total.passed + total.failed).max(1) as f64;
    println!(
        "pass rate over cases not skipped: {:.1}% (floor {:.1}%)",
        rate * 100.0,
        FLOOR * 100.0
    );
    assert!(rate >= FLOOR, "the pass rate fell under the floor");
}

fn run_file(
    file: &str,
    text: &str,
    verbose: bool,
    failures: &mut BTreeMap<String, usize>,
    skips: &mut BTreeMap<String, usize>,
) -> Tally {
    let lines: Vec<&str> = text.split('\n').map(str::trim).collect();
    let mut mem = Mem::default();
    let mut tally = Tally::default();
    let whole_file_skipped = matches!(
        file,
        "native_histograms.test" | "type_and_unit.test" | "start_timestamps.test"
    );
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.is_empty() || line.starts_with('#') {
            i += 1;
            continue;
        }
        // The block: this line and the following non-empty, non-comment lines.
        let mut j = i + 1;
        while j < lines.len() && !lines[j].is_empty() && !lines[j].starts_with('#') {
            j += 1;
        }
        let body = &lines[i + 1..j];
        let word = line
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        if word == "clear" {
            // A one-line command: what follows may start the next block without a blank line.
            mem = Mem::default();
            i += 1;
            continue;
        } else if word.starts_with("load") {
            load(&mut mem, line, body, word == "load_with_nhcb");
        } else if word.starts_with("eval") {
            let case = format!("{file}:{}", i + 1);
            match run_eval(&mem, line, body, whole_file_skipped) {
                Outcome::Pass => tally.passed += 1,
                Outcome::Skip(why) => {
                    tally.skipped += 1;
                    *skips.entry(why.to_string()).or_default() += 1;
                }
                Outcome::Fail(class, detail) => {
                    tally.failed += 1;
                    *failures.entry(class.clone()).or_default() += 1;
                    if verbose {
                        println!("FAIL {case}: {line}\n    {class}: {detail}");
                    }
                }
            }
        }
        i = j;
    }
    tally
}

enum Outcome {
    Pass,
    Skip(&'static str),
    Fail(String, String),
}

fn load(mem: &mut Mem, header: &str, body: &[&str], nhcb: bool) {
    let interval = header
        .split_whitespace()
        .nth(1)
        .and_then(duration_ms)
        .unwrap_or(0);
    for line in body {
        let Some((labels, rest)) = split_series(line) else {
            continue;
        };
        if labels
            .iter()
            .any(|(k, _)| k == "__type__" || k == "__unit__")
        {
            mem.experimental = true;
        }
        let name = labels
            .iter()
            .find(|(k, _)| k == "__name__")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        if labels.is_empty() {
            continue;
        }
        if line.contains("@st") {
            mem.experimental = true;
            continue;
        }
        if rest.contains("{{") {
            mem.native.insert(name.clone());
            mem.native_series.push(labels.clone());
            if !rest.split_whitespace().any(|t| parse_number(t).is_some()) {
                continue;
            }
        }
        if nhcb {
            if let Some(base) = name
                .strip_suffix("_bucket")
                .or(name.strip_suffix("_count"))
                .or(name.strip_suffix("_sum"))
            {
                mem.native.insert(base.to_string());
                let mut l: Labels = labels.iter().filter(|(k, _)| k != "le").cloned().collect();
                for p in l.iter_mut() {
                    if p.0 == "__name__" {
                        p.1 = base.to_string();
                    }
                }
                mem.native_series.push(l);
            }
        }
        let Some(values) = expand(rest) else { continue };
        let points = mem.series.entry(labels).or_default();
        for (k, v) in values.into_iter().enumerate() {
            if let Some(v) = v {
                let t = k as i64 * interval;
                points.retain(|p| p.0 != t);
                points.push((t, v));
            }
        }
        points.sort_by_key(|p| p.0);
    }
}

fn run_eval(mem: &Mem, header: &str, body: &[&str], file_skipped: bool) -> Outcome {
    let words: Vec<&str> = header.split_whitespace().collect();
    let keyword = words.first().copied().unwrap_or("");
    let (range, expr_start) = match words.get(1).copied() {
        Some("instant") => (None, 4),
        Some("range") => {
            // eval range from <start> to <end> step <step> <expr>
            let p = |k: usize| words.get(k).and_then(|w| duration_ms(w)).unwrap_or(0);
            (Some((p(3), p(5), p(7))), 8)
        }
        _ => return Outcome::Fail("script".into(), "bad eval header".into()),
    };
    let at = if range.is_none() {
        words.get(3).and_then(|w| duration_ms(w)).unwrap_or(0)
    } else {
        0
    };
    let expr = rest_after_words(header, expr_start);
    if file_skipped {
        return Outcome::Skip(
            "file of native histograms, start timestamps or type-and-unit labels",
        );
    }
    if mem.experimental {
        return Outcome::Skip("data with start timestamps or type-and-unit labels (experimental)");
    }
    // Native histograms and experimental PromQL are skipped.
    if body.iter().any(|l| l.contains("{{")) || expr.contains("{{") {
        return Outcome::Skip("native histograms");
    }
    for f in [
        "histogram_count",
        "histogram_sum",
        "histogram_avg",
        "histogram_fraction",
        "histogram_stddev",
        "histogram_stdvar",
        "info(",
        "limitk",
        "limit_ratio",
        "fill(",
        "fill_left",
        "fill_right",
        "__type__",
        "__unit__",
        "start()",
        "end()",
        "range()",
        "step()",
    ] {
        if expr.contains(f) {
            return Outcome::Skip(if f.starts_with("histogram_") {
                "native histograms"
            } else {
                "experimental PromQL (functions, modifiers, labels)"
            });
        }
    }
    let parsed = match promql_parser::parser::parse(&expr) {
        Ok(e) => e,
        Err(_) if body.iter().any(|l| l.starts_with("expect fail")) || keyword == "eval_fail" => {
            return Outcome::Pass;
        }
        Err(_) => return Outcome::Skip("experimental syntax (promql-parser rejects it)"),
    };
    if uses_experimental(&parsed) {
        return Outcome::Skip("experimental PromQL (functions, modifiers, labels)");
    }
    if identifiers(&expr).iter().any(|id| mem.native.contains(id)) || touches_native(&parsed, mem) {
        return Outcome::Skip("native histograms");
    }
    // Expectations.
    let mut expect_fail: Option<(bool, String)> = if keyword == "eval_fail" {
        Some((false, String::new()))
    } else {
        None
    };
    let mut ordered = keyword == "eval_ordered";
    let mut want_warn = false;
    let mut want_info = false;
    let (mut no_warn, mut no_info) = (false, false);
    // Expected annotation texts (`msg:` exact, `regex:`), by kind; soy does not report the
    // `(line:col)` position Prometheus appends, so it is left out of the comparison.
    let mut warn_texts: Vec<(bool, String)> = Vec::new();
    let mut info_texts: Vec<(bool, String)> = Vec::new();
    let mut want_string: Option<String> = None;
    let mut want_scalar: Option<f64> = None;
    let mut want: Vec<(Labels, Vec<Option<f64>>)> = Vec::new();
    for l in body {
        if let Some(rest) = l.strip_prefix("expect ") {
            let rest = rest.trim();
            if let Some(f) = rest.strip_prefix("fail") {
                let f = f.trim();
                expect_fail = Some(if let Some(m) = f.strip_prefix("msg:") {
                    (false, m.trim().to_string())
                } else if let Some(r) = f.strip_prefix("regex:") {
                    (true, r.trim().to_string())
                } else {
                    (false, String::new())
                });
            } else if rest == "ordered" {
                ordered = true;
            } else if rest == "no_warn" {
                no_warn = true;
            } else if rest == "no_info" {
                no_info = true;
            } else if let Some(r) = rest.strip_prefix("warn") {
                want_warn = true;
                if let Some(t) = annotation_text(r) {
                    warn_texts.push(t);
                }
            } else if let Some(r) = rest.strip_prefix("info") {
                want_info = true;
                if let Some(t) = annotation_text(r) {
                    info_texts.push(t);
                }
            } else if let Some(s) = rest.strip_prefix("string") {
                want_string = Some(unquote(s.trim()).unwrap_or_default());
            } else if rest.starts_with("range vector") {
                return Outcome::Skip("`expect range vector` (not in this copy)");
            }
            continue;
        }
        if let Some(v) = parse_number(l) {
            want_scalar = Some(v);
            break;
        }
        if let Some((labels, rest)) = split_series(l) {
            want.push((labels, expand(rest).unwrap_or_default()));
        }
    }
    let opts = Options::default();
    let result = match range {
        None => promql::instant(&expr, mem, at, &opts).map(|a| (Some(a.value), a.annotations)),
        Some((s, e, st)) => promql::range(&expr, mem, s, e, st, &opts)
            .map(|a| (Some(Value::Matrix(a.value)), a.annotations)),
    };
    let result = match (result, &expect_fail) {
        (Err(e), Some((regex, msg))) => {
            let m = e.to_string();
            let ok = msg.is_empty()
                || if *regex {
                    regex::Regex::new(msg).is_ok_and(|r| r.is_match(&m))
                } else {
                    &m == msg
                };
            return if ok {
                Outcome::Pass
            } else {
                Outcome::Fail(
                    "error message differs".into(),
                    format!("got {m:?}, want {msg:?}"),
                )
            };
        }
        (Err(promql::EvalError::Unsupported(what)), None) => {
            return Outcome::Fail(
                format!("unsupported: {}", what.split(" (").next().unwrap_or(&what)),
                what,
            );
        }
        (Err(e), None) => {
            return Outcome::Fail(
                format!("unexpected error: {}", error_class(&e.to_string())),
                e.to_string(),
            );
        }
        (Ok(_), Some(_)) => return Outcome::Fail("expected an error".into(), String::new()),
        (Ok(v), None) => v,
    };
    let (result, annotations) = result;
    let warned = annotations
        .iter()
        .any(|a| matches!(a, promql::Annotation::Warning(_)));
    let informed = annotations
        .iter()
        .any(|a| matches!(a, promql::Annotation::Info(_)));
    if (want_warn && !warned) || (want_info && !informed) {
        return Outcome::Fail(
            "annotation (warn/info) not produced".into(),
            format!("{annotations:?}"),
        );
    }
    if (no_warn && warned) || (no_info && informed) {
        return Outcome::Fail("unexpected annotation".into(), format!("{annotations:?}"));
    }
    for a in &annotations {
        let (texts, m) = match a {
            promql::Annotation::Warning(m) => (&warn_texts, m),
            promql::Annotation::Info(m) => (&info_texts, m),
        };
        let ok = texts.is_empty()
            || texts.iter().any(|(regex, t)| {
                if *regex {
                    regex::Regex::new(t).is_ok_and(|r| r.is_match(m))
                } else {
                    t == m
                }
            });
        if !ok {
            return Outcome::Fail(
                "annotation text differs".into(),
                format!("{m:?} not in {texts:?}"),
            );
        }
    }
    let Some(result) = result else {
        return Outcome::Fail("no result".into(), String::new());
    };
    match (result, range) {
        (Value::String(s), _) => match want_string {
            Some(w) if w == s => Outcome::Pass,
            other => Outcome::Fail("string result".into(), format!("got {s:?}, want {other:?}")),
        },
        (Value::Scalar(v), None) => match want_scalar {
            Some(w) if float_eq(v, w) => Outcome::Pass,
            other => Outcome::Fail("scalar value".into(), format!("got {v}, want {other:?}")),
        },
        (Value::Vector(got), None) => {
            if let Some(w) = want_scalar {
                return Outcome::Fail(
                    "scalar expected, vector returned".into(),
                    format!("want {w}"),
                );
            }
            let got: Vec<(Labels, f64)> = got
                .into_iter()
                .map(|s| (s.labels.to_vec(), s.value))
                .collect();
            let outcome = compare_instant(got.clone(), &want, ordered);
            if !matches!(outcome, Outcome::Pass) || ordered {
                return outcome;
            }
            // As Prometheus' runner does: the same query as a range query around `at` must
            // give the same vector at `at`.
            match promql::range(&expr, mem, at - 60_000, at + 60_000, 60_000, &opts) {
                Ok(r) => {
                    let at_t: Vec<(Labels, f64)> = r
                        .value
                        .into_iter()
                        .filter_map(|s| {
                            s.points
                                .iter()
                                .find(|p| p.0 == at)
                                .map(|p| (s.labels.to_vec(), p.1))
                        })
                        .collect();
                    let same = at_t.len() == got.len()
                        && got
                            .iter()
                            .all(|(l, v)| at_t.iter().any(|(l2, v2)| l == l2 && float_eq(*v, *v2)));
                    if same {
                        Outcome::Pass
                    } else {
                        Outcome::Fail(
                            "range query disagrees with the instant query".into(),
                            format!("{at_t:?} vs {got:?}"),
                        )
                    }
                }
                Err(e) => Outcome::Fail(
                    "range query fails where the instant query works".into(),
                    e.to_string(),
                ),
            }
        }
        (Value::Matrix(got), Some((s, e, st))) => compare_range(got, &want, want_scalar, s, e, st),
        (Value::Matrix(_), None) => Outcome::Fail(
            "range vector returned by an instant query".into(),
            String::new(),
        ),
        (other, _) => Outcome::Fail("result kind".into(), other.kind().to_string()),
    }
}

fn error_class(m: &str) -> String {
    m.split(':').next().unwrap_or(m).chars().take(60).collect()
}

fn compare_instant(
    got: Vec<(Labels, f64)>,
    want: &[(Labels, Vec<Option<f64>>)],
    ordered: bool,
) -> Outcome {
    if got.len() != want.len() {
        return Outcome::Fail(
            "wrong number of series".into(),
            format!(
                "got {} {:?}, want {}",
                got.len(),
                got.iter().map(|g| fmt_labels(&g.0)).collect::<Vec<_>>(),
                want.len()
            ),
        );
    }
    for (k, (wl, wv)) in want.iter().enumerate() {
        let found = if ordered {
            got.get(k).filter(|g| &g.0 == wl)
        } else {
            got.iter().find(|g| &g.0 == wl)
        };
        let Some((_, v)) = found else {
            return Outcome::Fail(
                "labels differ".into(),
                format!(
                    "want {} among {:?}",
                    fmt_labels(wl),
                    got.iter().map(|g| fmt_labels(&g.0)).collect::<Vec<_>>()
                ),
            );
        };
        let w = wv.first().copied().flatten();
        match w {
            Some(w) if float_eq(*v, w) => {}
            _ => {
                return Outcome::Fail(
                    "value differs".into(),
                    format!("{}: got {v}, want {w:?}", fmt_labels(wl)),
                );
            }
        }
    }
    Outcome::Pass
}

fn compare_range(
    got: Vec<RangeSeries>,
    want: &[(Labels, Vec<Option<f64>>)],
    want_scalar: Option<f64>,
    start: i64,
    end: i64,
    step: i64,
) -> Outcome {
    let _ = want_scalar;
    if got.len() != want.len() {
        return Outcome::Fail(
            "wrong number of series".into(),
            format!(
                "got {:?}, want {}",
                got.iter()
                    .map(|g| fmt_labels(&g.labels))
                    .collect::<Vec<_>>(),
                want.len()
            ),
        );
    }
    for (wl, wv) in want {
        let Some(g) = got.iter().find(|g| *g.labels == *wl) else {
            return Outcome::Fail("labels differ".into(), format!("want {}", fmt_labels(wl)));
        };
        let mut t = start;
        let mut k = 0;
        let mut expected: Vec<(i64, f64)> = Vec::new();
        while t <= end {
            if let Some(Some(v)) = wv.get(k) {
                expected.push((t, *v));
            }
            t += step;
            k += 1;
        }
        if expected.len() != g.points.len()
            || expected
                .iter()
                .zip(&g.points)
                .any(|(e, p)| e.0 != p.0 || !float_eq(p.1, e.1))
        {
            return Outcome::Fail(
                "range values differ".into(),
                format!(
                    "{}: got {:?}, want {:?}",
                    fmt_labels(wl),
                    g.points,
                    expected
                ),
            );
        }
    }
    Outcome::Pass
}

fn fmt_labels(l: &Labels) -> String {
    let inner: Vec<String> = l.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", inner.join(","))
}

fn float_eq(a: f64, b: f64) -> bool {
    if a.to_bits() == STALE_NAN_BITS || b.to_bits() == STALE_NAN_BITS {
        return a.to_bits() == b.to_bits();
    }
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    if a == 0.0 || b == 0.0 {
        return false;
    }
    let sum = a.abs() + b.abs();
    ((a - b).abs() / sum.min(f64::MAX)) < 1e-6
}

/// `msg: TEXT` or `regex: RE` after `expect warn|info`, without Prometheus' `(line:col)`.
fn annotation_text(r: &str) -> Option<(bool, String)> {
    let r = r.trim();
    let strip = |t: &str, pat: &str| -> String {
        let re = regex::Regex::new(pat).expect("static regex");
        re.replace(t.trim(), "").to_string()
    };
    if let Some(m) = r.strip_prefix("msg:") {
        Some((false, strip(m, r" \(\d+:\d+\)$")))
    } else {
        r.strip_prefix("regex:")
            .map(|m| (true, strip(m, r" \\\(\[0-9\]\+:\[0-9\]\+\\\)$")))
    }
}

/// Experimental functions and modifiers in a parsed expression.
fn uses_experimental(e: &promql_parser::parser::Expr) -> bool {
    use promql_parser::parser::Expr;
    match e {
        Expr::Call(c) => c.func.experimental || c.args.args.iter().any(|a| uses_experimental(a)),
        Expr::Aggregate(a) => {
            let op = a.op.to_string();
            matches!(&op[..], "limitk" | "limit_ratio")
                || uses_experimental(&a.expr)
                || a.param.as_ref().is_some_and(|p| uses_experimental(p))
        }
        Expr::Unary(u) => uses_experimental(&u.expr),
        Expr::Binary(b) => {
            b.modifier
                .as_ref()
                .is_some_and(|m| m.fill_values.lhs.is_some() || m.fill_values.rhs.is_some())
                || uses_experimental(&b.lhs)
                || uses_experimental(&b.rhs)
        }
        Expr::Paren(p) => uses_experimental(&p.expr),
        Expr::Subquery(s) => uses_experimental(&s.expr),
        Expr::VectorSelector(vs) => !vs.matchers.or_matchers.is_empty(),
        _ => false,
    }
}

/// Whether a selector of the expression matches a series holding native histograms.
fn touches_native(e: &promql_parser::parser::Expr, mem: &Mem) -> bool {
    use promql_parser::parser::Expr;
    let sel = |vs: &promql_parser::parser::VectorSelector| {
        mem.native_series.iter().any(|labels| {
            let get = |n: &str| {
                labels
                    .iter()
                    .find(|(k, _)| k == n)
                    .map_or("", |(_, v)| v.as_str())
            };
            vs.name.as_ref().is_none_or(|n| get("__name__") == n)
                && vs
                    .matchers
                    .matchers
                    .iter()
                    .all(|m| m.is_match(get(&m.name)))
        })
    };
    match e {
        Expr::VectorSelector(vs) => sel(vs),
        Expr::MatrixSelector(ms) => sel(&ms.vs),
        Expr::Call(c) => c.args.args.iter().any(|a| touches_native(a, mem)),
        Expr::Aggregate(a) => {
            touches_native(&a.expr, mem) || a.param.as_ref().is_some_and(|p| touches_native(p, mem))
        }
        Expr::Unary(u) => touches_native(&u.expr, mem),
        Expr::Binary(b) => touches_native(&b.lhs, mem) || touches_native(&b.rhs, mem),
        Expr::Paren(p) => touches_native(&p.expr, mem),
        Expr::Subquery(s) => touches_native(&s.expr, mem),
        _ => false,
    }
}

/// Identifier-like words of an expression (metric names among them).
fn identifiers(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_str: Option<char> = None;
    for c in expr.chars() {
        if let Some(q) = in_str {
            if c == q {
                in_str = None;
            }
            continue;
        }
        if c == '"' || c == '\'' || c == '`' {
            in_str = Some(c);
            continue;
        }
        if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
            cur.push(c);
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn rest_after_words(line: &str, n: usize) -> String {
    let mut rest = line;
    for _ in 0..n {
        rest = rest.trim_start();
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        rest = &rest[end..];
    }
    rest.trim().to_string()
}

/// `name{a="b", ...} values` → (labels, values text).
fn split_series(line: &str) -> Option<(Labels, &str)> {
    let line = line.trim();
    let brace = line.find('{');
    let name_end = line.find(|c: char| c.is_whitespace()).unwrap_or(line.len());
    let mut labels: Labels = Vec::new();
    let rest = match brace {
        Some(b) if b <= name_end => {
            let name = line[..b].trim();
            if !name.is_empty() {
                labels.push(("__name__".into(), name.to_string()));
            }
            let (pairs, after) = parse_label_block(&line[b..])?;
            for (k, v) in pairs {
                if k.is_empty() {
                    labels.push(("__name__".into(), v));
                } else {
                    labels.push((k, v));
                }
            }
            after
        }
        _ => {
            let name = &line[..name_end];
            parse_number(name).is_none().then_some(())?;
            labels.push(("__name__".into(), name.to_string()));
            &line[name_end..]
        }
    };
    labels.sort();
    Some((labels, rest.trim()))
}

/// Parses `{k="v", ...}` at the start of `s`; returns the pairs and what follows.
fn parse_label_block(s: &str) -> Option<(Vec<(String, String)>, &str)> {
    let bytes: Vec<char> = s.chars().collect();
    let mut i = 1;
    let mut out = Vec::new();
    let mut consumed_bytes = 1;
    loop {
        while i < bytes.len() && (bytes[i].is_whitespace() || bytes[i] == ',') {
            consumed_bytes += bytes[i].len_utf8();
            i += 1;
        }
        if i >= bytes.len() {
            return None;
        }
        if bytes[i] == '}' {
            consumed_bytes += 1;
            break;
        }
        // A quoted name alone (`{"my.metric"}`) or name="value".
        let mut name = String::new();
        if bytes[i] == '"' {
            let (v, used) = read_quoted(&bytes[i..])?;
            i += used;
            consumed_bytes += bytes[i - used..i]
                .iter()
                .map(|c| c.len_utf8())
                .sum::<usize>();
            name = v;
            while i < bytes.len() && bytes[i].is_whitespace() {
                consumed_bytes += 1;
                i += 1;
            }
            if i < bytes.len() && (bytes[i] == ',' || bytes[i] == '}') {
                out.push((String::new(), name));
                continue;
            }
        } else {
            while i < bytes.len()
                && (bytes[i].is_alphanumeric()
                    || bytes[i] == '_'
                    || bytes[i] == '.'
                    || bytes[i] == ':')
            {
                name.push(bytes[i]);
                consumed_bytes += bytes[i].len_utf8();
                i += 1;
            }
        }
        while i < bytes.len() && bytes[i].is_whitespace() {
            consumed_bytes += 1;
            i += 1;
        }
        if i >= bytes.len() || bytes[i] != '=' {
            return None;
        }
        consumed_bytes += 1;
        i += 1;
        while i < bytes.len() && bytes[i].is_whitespace() {
            consumed_bytes += 1;
            i += 1;
        }
        let (v, used) = read_quoted(&bytes[i..])?;
        consumed_bytes += bytes[i..i + used]
            .iter()
            .map(|c| c.len_utf8())
            .sum::<usize>();
        i += used;
        out.push((name, v));
    }
    Some((out, &s[consumed_bytes..]))
}

/// A Go-style quoted string at the start of `s`: (value, chars used).
fn read_quoted(s: &[char]) -> Option<(String, usize)> {
    let q = *s.first()?;
    if q != '"' && q != '\'' && q != '`' {
        return None;
    }
    let mut out = String::new();
    let mut i = 1;
    while i < s.len() {
        let c = s[i];
        if c == q {
            return Some((out, i + 1));
        }
        if c == '\\' && q != '`' {
            i += 1;
            match s.get(i)? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                '\\' => out.push('\\'),
                '"' => out.push('"'),
                '\'' => out.push('\''),
                'x' => {
                    let h: String = s.get(i + 1..i + 3)?.iter().collect();
                    out.push(char::from(u8::from_str_radix(&h, 16).ok()?));
                    i += 2;
                }
                'u' => {
                    let h: String = s.get(i + 1..i + 5)?.iter().collect();
                    out.push(char::from_u32(u32::from_str_radix(&h, 16).ok()?)?);
                    i += 4;
                }
                'U' => {
                    let h: String = s.get(i + 1..i + 9)?.iter().collect();
                    out.push(char::from_u32(u32::from_str_radix(&h, 16).ok()?)?);
                    i += 8;
                }
                other => {
                    out.push('\\');
                    out.push(*other);
                }
            }
        } else {
            out.push(c);
        }
        i += 1;
    }
    None
}

fn unquote(s: &str) -> Option<String> {
    let chars: Vec<char> = s.chars().collect();
    read_quoted(&chars).map(|(v, _)| v)
}

/// A PromQL number literal (also hex, Inf, NaN).
fn parse_number(s: &str) -> Option<f64> {
    let s = s.trim();
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let v = match body.to_ascii_lowercase().as_str() {
        "inf" => f64::INFINITY,
        "nan" => f64::NAN,
        b if b.starts_with("0x") => i64::from_str_radix(&b[2..], 16).ok()? as f64,
        _ => {
            if body.is_empty()
                || !body
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_digit() || c == '.')
            {
                return None;
            }
            body.parse::<f64>().ok()?
        }
    };
    Some(if neg { -v } else { v })
}

/// The load notation: `1 2 _ stale 1+2x3 _x2 5x2`.
fn expand(s: &str) -> Option<Vec<Option<f64>>> {
    let mut out = Vec::new();
    for tok in s.split_whitespace() {
        if tok == "_" {
            out.push(None);
            continue;
        }
        if tok == "stale" {
            out.push(Some(f64::from_bits(STALE_NAN_BITS)));
            continue;
        }
        if let Some(n) = tok.strip_prefix("_x") {
            let n: usize = n.parse().ok()?;
            out.extend(std::iter::repeat_n(None, n));
            continue;
        }
        let repetition = tok
            .rfind('x')
            .is_some_and(|x| x + 1 < tok.len() && tok[x + 1..].chars().all(|c| c.is_ascii_digit()));
        if !repetition {
            out.push(Some(parse_number(tok)?));
            continue;
        }
        // a+bxN, a-bxN, axN
        let x = tok.rfind('x')?;
        let n: usize = tok[x + 1..].parse().ok()?;
        let head = &tok[..x];
        let op = head
            .char_indices()
            .skip(1)
            .find(|(i, c)| {
                (*c == '+' || *c == '-') && !matches!(head.as_bytes()[i - 1], b'e' | b'E')
            })
            .map(|(i, _)| i);
        match op {
            Some(p) => {
                let a = if &head[..p] == "stale" {
                    f64::from_bits(STALE_NAN_BITS)
                } else {
                    parse_number(&head[..p])?
                };
                let b = parse_number(&head[p..])?;
                for k in 0..=n {
                    out.push(Some(a + b * k as f64));
                }
            }
            None => {
                let a = if head == "stale" {
                    f64::from_bits(STALE_NAN_BITS)
                } else if head == "_" {
                    out.extend(std::iter::repeat_n(None, n + 1));
                    continue;
                } else {
                    parse_number(head)?
                };
                out.extend(std::iter::repeat_n(Some(a), n + 1));
            }
        }
    }
    Some(out)
}

/// `1h30m`, `10s53ms`, `0`, `-5m` → milliseconds.
fn duration_ms(s: &str) -> Option<i64> {
    if s == "0" {
        return Some(0);
    }
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let mut total: i64 = 0;
    let mut num = String::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() {
            num.push(c);
            i += 1;
            continue;
        }
        let unit: String = if c == 'm' && chars.get(i + 1) == Some(&'s') {
            i += 2;
            "ms".into()
        } else {
            i += 1;
            c.to_string()
        };
        let n: i64 = num.parse().ok()?;
        num.clear();
        total += n * match unit.as_str() {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            "y" => 31_536_000_000,
            _ => return None,
        };
    }
    if !num.is_empty() {
        return None;
    }
    Some(if neg { -total } else { total })
}
