//! The load: shape arithmetic now; the generator itself lands with the load-generator issue.

pub mod shape;
