//! The one error type of the test kit.
//!
//! Every variant carries enough context to act on without rerunning: which
//! program, which package provides it, what the server printed last.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

/// Why a test server could not be started, queried or stopped.
#[derive(Debug, thiserror::Error)]
pub enum TestkitError {
    /// A program the kit needs is not installed.
    #[error(
        "`{program}` not found (looked in: {looked_in}); install the Debian package `{package}` \
         (scripts/test installs what tests need)"
    )]
    MissingBinary {
        /// The program looked for, e.g. `initdb`.
        program: String,
        /// Where it was looked for.
        looked_in: String,
        /// The Debian package that provides it.
        package: String,
    },

    /// A system user the kit needs when running as root does not exist.
    #[error(
        "running as root, but the system user `{user}` does not exist; install the Debian \
         package `{package}`, which creates it"
    )]
    MissingUser {
        /// The user, e.g. `postgres`.
        user: String,
        /// The Debian package that creates it.
        package: String,
    },

    /// An operating-system call failed.
    #[error("{context}: {source}")]
    Io {
        /// What the kit was doing.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A helper command ran but failed.
    #[error("command failed ({status}): {command}\n{output}")]
    CommandFailed {
        /// The command line, for copy and paste.
        command: String,
        /// How it ended.
        status: ExitStatus,
        /// What it printed (stdout then stderr), trimmed.
        output: String,
    },

    /// A server did not become ready in time.
    #[error("{what} not ready after {timeout:?}; last lines of its log ({log}):\n{log_tail}")]
    NotReady {
        /// Which server, e.g. `postgres on 127.0.0.1:5433`.
        what: String,
        /// How long the kit waited.
        timeout: Duration,
        /// The log file.
        log: PathBuf,
        /// Its last lines.
        log_tail: String,
    },

    /// A server process ended while the kit waited for it to become ready.
    #[error("{what} exited during startup ({status}); last lines of its log ({log}):\n{log_tail}")]
    ExitedEarly {
        /// Which server.
        what: String,
        /// How it ended.
        status: ExitStatus,
        /// The log file.
        log: PathBuf,
        /// Its last lines.
        log_tail: String,
    },

    /// Nothing accepted TCP connections at an address in time.
    #[error("nothing accepted TCP connections on {addr} within {timeout:?}")]
    TcpTimeout {
        /// The address polled.
        addr: SocketAddr,
        /// How long it was polled.
        timeout: Duration,
    },
}

impl TestkitError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        TestkitError::Io { context: context.into(), source }
    }
}
