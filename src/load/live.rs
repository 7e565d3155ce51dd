//! The live view while load runs: an indicatif line on a terminal, a plain line every 10 s
//! otherwise (CI logs).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

use super::engine::Progress;

/// Shows progress on stderr.
pub struct Live {
    bar: Option<ProgressBar>,
    unit: &'static str,
    /// The busy-CPU warning has been printed (once, on a log).
    warned: std::cell::Cell<bool>,
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
            warned: std::cell::Cell::new(false),
        }
    }

    pub fn update(&self, p: &Progress) {
        let r = &p.row;
        let mut line = format!(
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
        if let Some(cpu) = p.cpu.filter(|c| *c > super::cpu::BUSY) {
            let warning = format!(
                "CPU {:.0}%: soy may be the bottleneck, not the target",
                cpu * 100.0
            );
            if self.bar.is_none() && !self.warned.replace(true) {
                eprintln!("soy: warning at {}s: {warning}", r.second + 1);
            }
            line.push_str("  ");
            line.push_str(&warning);
        }
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
