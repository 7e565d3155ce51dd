//! soy's embedded metrics store: an in-memory, compressed time-series database.
//!
//! Samples are `(milliseconds, f64)` pairs appended in time order to series named by sorted
//! label sets. [`chunk`] compresses them Gorilla-style (about 1–2 bytes a sample on scraped
//! data), [`store`] maps label sets to chunks under a bound on the number of series and
//! selects with Prometheus label matchers, and [`file`] saves and loads a store.
//!
//! Architecture invariant: this module is pure — no tokio, no network; the only I/O is
//! [`file::save`] and [`file::load`]. Nothing here panics on any input.

mod bits;
pub mod chunk;
mod decode;
mod encode;
pub mod error;
pub mod file;
mod predict;
pub mod store;

pub use chunk::{Chunk, HeadChunk, MAX_SAMPLES, STALE_NAN_BITS, is_stale};
pub use error::{Corrupt, TsdbError};
pub use file::{load, save};
pub use store::{AppendError, Dropped, Labels, MatchOp, Matcher, NAME_LABEL, Store};
