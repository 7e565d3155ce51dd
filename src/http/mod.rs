//! soy's HTTP client, the bottom layer every part that speaks HTTP uses: URLs (`target`),
//! a lean HTTP/1.1 connection (`http1`), HTTP/2 through hyper (`http2`), rustls
//! configuration (`tls`), and one `get` for control-plane requests (scrapes, the Prometheus
//! API, readiness checks). It imports nothing from the rest of soy but `clock`.

mod error;
pub mod get;
pub mod http1;
pub mod http2;
pub mod target;
pub mod tls;

pub use error::Error;
pub use get::{GetError, Request, Response, get};
pub use target::{Target, UrlError};
pub use tls::TlsError;
