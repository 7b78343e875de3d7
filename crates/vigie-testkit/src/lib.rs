//! Throw-away servers and hand-written models for Vigie's tests.
//!
//! Integration tests must never touch the machine's own PostgreSQL or
//! Mosquitto (they may be absent, and CI shares the machine). This crate starts
//! private instances from the machine's installed binaries instead:
//!
//! - [`PostgresServer`]: a fresh cluster (`initdb`) in a temporary directory,
//!   listening on 127.0.0.1 on a free port, with a superuser role `vigie` and a
//!   database `vigie_test`, reachable with trust authentication at
//!   [`PostgresServer::url`].
//! - [`MosquittoServer`]: a broker on 127.0.0.1 on a free port, with a config
//!   that never drops queued messages; it can be stopped and restarted on the
//!   same port to test reconnection.
//! - [`ChildGuard`]: a child process that is killed (`SIGKILL`) and reaped when
//!   the guard is dropped, for binaries a test spawns itself.
//! - [`free_port`] and [`wait_for_tcp`]: small helpers to place and await
//!   servers.
//! - [`onnx`]: tiny ONNX models written protobuf field by field, and
//!   [`onnx::onnxruntime_library`], where the tests find ONNX Runtime (under
//!   [`media_cache`], filled by `scripts/fetch-video-media`).
//!
//! Everything a server writes lives in its own temporary directory, which is
//! deleted together with the server when the value is dropped.
//!
//! PostgreSQL refuses to run as root, and CI runs as root: when the effective
//! user is root, `initdb` and `postgres` run as the `postgres` system user and
//! the temporary directory is handed to that user. Mosquitto is told to stay
//! root (`user root`) so that it can write its log in the temporary directory.
//!
//! When a binary is missing the error names the Debian package to install
//! (`scripts/test` installs them all).
//!
//! ```no_run
//! let pg = vigie_testkit::PostgresServer::start().unwrap();
//! assert_eq!(pg.psql("select 40 + 2").unwrap(), "42");
//! let broker = vigie_testkit::MosquittoServer::start().unwrap();
//! println!("{} {}", pg.url(), broker.url());
//! ```

mod cache;
mod error;
mod mosquitto;
mod net;
pub mod onnx;
mod postgres;
mod process;
mod sys;

pub use cache::media_cache;
pub use error::TestkitError;
pub use mosquitto::MosquittoServer;
pub use net::{free_port, wait_for_tcp};
pub use postgres::PostgresServer;
pub use process::ChildGuard;
