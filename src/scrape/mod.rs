//! soy's own scraper: targets fetched over [`crate::http`] (`fetch`), their text read by
//! [`crate::exposition::parse`] and ingested into the [`crate::tsdb`] store (`ingest`), every
//! interval (`scraper`).

pub mod fetch;
pub mod ingest;
pub mod scraper;
