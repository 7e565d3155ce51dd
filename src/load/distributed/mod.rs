//! soy's generator over several machines: worker tasks on the swarm, each running a share of
//! the plan (`segment`), a coordinator inside the stack that merges their seconds exactly
//! (`merge`), and the driver `soy apply` runs, which reads the merged seconds over the
//! coordinator's port on 127.0.0.1.
//!
//! `wire` is what they say to each other, `worker` and `coordinator` are the `soy worker`
//! and `soy coordinator` commands, `swarm` places them, and `driver` runs them.

pub mod coordinator;
pub mod driver;
pub mod merge;
pub mod swarm;
pub mod wire;
pub mod worker;

pub use driver::{DistributedDriver, DistributedInfo, DriverError};
pub use wire::OnLoss;
