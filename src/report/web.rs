//! The report page's front-end: uPlot when this build has it (`build.rs` installs it with
//! npm), and soy's own script and styles for the charts.

include!(concat!(env!("OUT_DIR"), "/web.rs"));

/// soy's chart script: builds the interactive charts from the page's data.
pub const SCRIPT: &str = include_str!("../../web/report.js");
/// The page's styles.
pub const STYLE: &str = include_str!("../../web/report.css");

/// How this build draws a page's charts.
#[derive(Debug, Clone, Copy)]
pub enum Charting {
    /// uPlot's code and styles, to inline.
    Interactive {
        library: &'static str,
        css: &'static str,
    },
    /// Static SVG charts only, and why.
    Static { why: &'static str },
}

/// What this build has.
pub fn charting() -> Charting {
    match UPLOT {
        Ok((library, css)) => Charting::Interactive { library, css },
        Err(why) => Charting::Static { why },
    }
}
