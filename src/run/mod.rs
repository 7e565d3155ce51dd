//! The run: lifecycle of `soy apply`, its run directory and its record.

pub mod apply;
pub mod dir;
pub mod record;
pub mod rerender;
