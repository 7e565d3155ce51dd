//! The live view while load runs: an indicatif line on a terminal, a plain line every 10 s
//! otherwise (CI logs).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

use super::engine::Progress;

/// Shows progress on stderr.
pub struct Live {
    bar: Option<ProgressBar>,
    unit: &'static str,
}

impl Live {
    pub fn new(open: bool) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = ProgressBar::new_spinner();
            b.set_style(
                ProgressStyle::with_template("{spinner} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            b
        });
        Live {
            bar,
            unit: if open { "it/s" } else { "users" },
        }
    }

    pub fn update(&self, p: &Progress) {
        let r = &p.row;
        let line = format!(
            "{:>5}s / {}s  target {:.0} {}  active {}  {} req/s  p95 {:.1} ms  failures {} ({} total of {})",
            r.second + 1,
            p.run_time.as_secs(),
            r.target,
            self.unit,
            r.active,
            r.requests,
            r.p95_ms,
            r.failures,
            p.total_failures,
            p.total_requests
        );
        match &self.bar {
            Some(b) => {
                b.set_message(line);
                b.tick();
            }
            None if (r.second + 1).is_multiple_of(10) => eprintln!("soy: {line}"),
            None => {}
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
