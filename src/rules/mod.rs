//! Rules evaluated while the load runs (issue 12), as pure cores: `alert` is Prometheus'
//! alerting-rule state machine (`for`, `keep_firing_for`, resolved retention), `scale` the
//! scaling policies (the Kubernetes HPA algorithm with its stabilization windows, and a
//! threshold policy with cooldowns). The live evaluator, the manifest's `alerts:` and
//! `autoscale:`, and the rule-file writer build on them.

pub mod alert;
pub mod annotation;
pub mod record;
pub mod scale;
