//! `report:` — which reports are written and through which templates.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Report settings.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// Formats written into the run directory.
    #[serde(default = "default_formats")]
    #[schemars(length(min = 1))]
    pub formats: Vec<Format>,
    /// Templates replacing the built-in ones; a `.hbs` file is rendered with Handlebars.
    #[serde(default)]
    pub template: Templates,
    /// Also write `junit.xml` with one test case per SLO, for CI systems.
    #[serde(default)]
    pub junit: bool,
    /// Title of the report; defaults to the experiment's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// A stored run to judge this run against as it ends, as `soy compare` does (the
    /// comparison goes in the report and summary.json): `latest` (this experiment's most
    /// recent earlier run under the reports root), a run directory (relative to the
    /// manifest), or a git ref (the most recent stored run of this experiment made at that
    /// commit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub baseline: Option<String>,
    /// Fail the run (exit 1) when the comparison with `baseline` finds a regression.
    #[serde(default)]
    pub fail_on_regression: bool,
}

impl Default for Report {
    fn default() -> Self {
        Report {
            formats: default_formats(),
            template: Templates::default(),
            junit: false,
            title: None,
            baseline: None,
            fail_on_regression: false,
        }
    }
}

fn default_formats() -> Vec<Format> {
    vec![Format::Html, Format::Markdown, Format::Json]
}

/// A report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// `report.html`: one self-contained page.
    Html,
    /// `report.md`: GitHub-flavoured Markdown for pull-request comments.
    Markdown,
    /// `summary.json`: machine-readable results.
    Json,
}

/// Template overrides, relative to the manifest.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Templates {
    /// Template for `report.html`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// Template for `report.md`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub markdown: Option<String>,
}
