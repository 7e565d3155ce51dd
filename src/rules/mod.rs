//! Rules evaluated while the load runs (issue 12), as pure cores: `alert` is Prometheus'
//! alerting-rule state machine (`for`, `keep_firing_for`, resolved retention), `scale` the
//! scaling policies (the Kubernetes HPA algorithm with its stabilization windows, and a
//! threshold policy with cooldowns), `annotation` Prometheus-style alert texts, `record`
//! what a run keeps of its alerts, `file` the manifest's SLOs and alerts as a Prometheus
//! rule file. The live evaluator is `run::rules_phase`.

pub mod alert;
pub mod annotation;
pub mod file;
pub mod record;
pub mod scale;
