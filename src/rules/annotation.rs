//! Alert annotations templated as Prometheus templates them, for the forms alert texts use:
//! `{{ $value }}`, `{{ $labels.name }}` (and `{{ .Value }}`, `{{ .Labels.name }}`),
//! `{{ $value | humanize }}` or `{{ humanize $value }}`, `{{ printf "%.2f" $value }}`.
//! Pure; anything else inside `{{ }}` is an error naming it, found at validation.

use super::alert::Labels;

/// Why an annotation does not render.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnnotationError {
    #[error("`{{{{` without its `}}}}`")]
    Unclosed,
    #[error(
        "`{{{{ {0} }}}}` is not a template soy renders (it takes `$value`, `$labels.NAME`, `humanize`, `printf \"%.Nf\"`)"
    )]
    Unsupported(String),
}

/// Checks a template without rendering it.
pub fn check(text: &str) -> Result<(), AnnotationError> {
    render(text, &Labels::new(), 0.0).map(|_| ())
}

/// Renders a template for one alert.
pub fn render(text: &str, labels: &Labels, value: f64) -> Result<String, AnnotationError> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let j = after.find("}}").ok_or(AnnotationError::Unclosed)?;
        let action = after[..j]
            .trim()
            .trim_start_matches('-')
            .trim_end_matches('-')
            .trim();
        out.push_str(&action_value(action, labels, value)?);
        rest = &after[j + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn action_value(action: &str, labels: &Labels, value: f64) -> Result<String, AnnotationError> {
    let unsupported = || AnnotationError::Unsupported(action.to_string());
    let words: Vec<&str> = action.split_whitespace().collect();
    let operand = |w: &str| -> Option<String> {
        match w {
            "$value" | ".Value" => Some(go_float(value)),
            _ => {
                let name = w
                    .strip_prefix("$labels.")
                    .or_else(|| w.strip_prefix(".Labels."))?;
                Some(labels.get(name).cloned().unwrap_or_default())
            }
        }
    };
    match words.as_slice() {
        [w] => operand(w).ok_or_else(unsupported),
        ["humanize", "$value" | ".Value"] | ["$value" | ".Value", "|", "humanize"] => {
            Ok(humanize(value))
        }
        ["printf", format, "$value" | ".Value"] => {
            let f = format.trim_matches('"');
            let digits = f
                .strip_prefix("%.")
                .and_then(|r| r.strip_suffix('f'))
                .and_then(|d| d.parse::<usize>().ok())
                .ok_or_else(unsupported)?;
            Ok(format!("{value:.digits$}"))
        }
        _ => Err(unsupported()),
    }
}

/// A float as Go's `%v` (strconv 'g' with the shortest representation) prints it.
fn go_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else if v != 0.0 && (v.abs() >= 1e21 || v.abs() < 1e-4) {
        format!("{v:e}").replace('e', "e+").replace("e+-", "e-")
    } else {
        format!("{v}")
    }
}

/// Prometheus' `humanize`: SI prefixes, four significant digits.
fn humanize(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return go_float(v);
    }
    let big = [
        (1e24, "Y"),
        (1e21, "Z"),
        (1e18, "E"),
        (1e15, "P"),
        (1e12, "T"),
        (1e9, "G"),
        (1e6, "M"),
        (1e3, "k"),
    ];
    let small = [
        (1e-3, "m"),
        (1e-6, "u"),
        (1e-9, "n"),
        (1e-12, "p"),
        (1e-15, "f"),
        (1e-18, "a"),
        (1e-21, "z"),
        (1e-24, "y"),
    ];
    let a = v.abs();
    let (scaled, prefix) = if a >= 1.0 {
        big.iter()
            .find(|(f, _)| a >= *f)
            .map_or((v, ""), |(f, p)| (v / f, *p))
    } else {
        small
            .iter()
            .find(|(f, _)| a >= *f)
            .map_or((v, ""), |(f, p)| (v / f, *p))
    };
    format!("{}{prefix}", sig4(scaled))
}

/// Go's `%.4g`: four significant digits, no trailing zeros.
fn sig4(v: f64) -> String {
    let digits = 4 - 1 - v.abs().log10().floor() as i32;
    let s = format!("{:.*}", digits.max(0) as usize, v);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forms_alert_texts_use() {
        let l = Labels::from([("service".to_string(), "gateway".to_string())]);
        assert_eq!(
            render("p95 of {{ $labels.service }} is {{ $value }}s", &l, 0.25).unwrap(),
            "p95 of gateway is 0.25s"
        );
        assert_eq!(
            render("{{ .Labels.service }}/{{.Value}}", &l, 3.0).unwrap(),
            "gateway/3"
        );
        assert_eq!(
            render("{{ $value | humanize }}", &l, 1234567.0).unwrap(),
            "1.235M"
        );
        assert_eq!(
            render("{{ humanize $value }}", &l, 0.000_25).unwrap(),
            "250u"
        );
        assert_eq!(
            render("{{ printf \"%.2f\" $value }}", &l, 0.123_456).unwrap(),
            "0.12"
        );
        assert_eq!(render("{{ $labels.none }}", &l, 1.0).unwrap(), "");
        assert_eq!(render("no template", &l, 1.0).unwrap(), "no template");
    }

    #[test]
    fn what_it_does_not_render_is_said() {
        assert_eq!(check("{{ $value"), Err(AnnotationError::Unclosed));
        let e = check("{{ range $labels }}").unwrap_err();
        assert!(
            e.to_string()
                .contains("`{{ range $labels }}` is not a template"),
            "{e}"
        );
    }
}
