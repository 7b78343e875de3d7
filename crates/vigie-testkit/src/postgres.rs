//! A private PostgreSQL server in a temporary directory.
//!
//! [`PostgresServer::start`] runs `initdb` into a fresh temporary directory
//! (bootstrap superuser `vigie`, trust authentication), starts `postgres` on a
//! free port listening on 127.0.0.1 only, with its unix socket inside the
//! temporary directory, waits until it accepts connections and creates the
//! database `vigie_test` owned by `vigie`.
//!
//! Durability settings: `fsync=off` (a test machine's power is not what tests
//! test), but `synchronous_commit` stays `on`: a commit is written to the
//! write-ahead log before it is acknowledged, so a committed row survives a
//! `kill -9` of the server or of the process that wrote it, and crash tests can
//! rely on that.
//!
//! As root (CI), `initdb` runs through `runuser -u postgres` and the server
//! through `setpriv` as `postgres` (`setpriv` replaces itself with the server,
//! so the process we hold is the postmaster itself); the temporary directory
//! is given to `postgres` first.
//!
//! Dropping the value stops the server (immediate shutdown) and deletes the
//! directory.

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::TestkitError;
use crate::net::{free_port, loopback};
use crate::process::Reaper;
use crate::sys;

/// How long [`PostgresServer::start`] waits for the server to accept queries.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How many ports are tried when another process takes the one we picked.
const PORT_ATTEMPTS: usize = 5;
/// The superuser role.
const USER: &str = "vigie";
/// The database made for tests.
const DATABASE: &str = "vigie_test";
/// The system user PostgreSQL runs as when the tests run as root.
const SYSTEM_USER: &str = "postgres";

/// A throw-away PostgreSQL server; stopped and deleted on drop.
#[derive(Debug)]
pub struct PostgresServer {
    postmaster: Option<Child>,
    reaper: Option<Reaper>,
    port: u16,
    bindir: PathBuf,
    data: PathBuf,
    log: PathBuf,
    // Last, so that it is deleted after the server has stopped.
    dir: TempDir,
}

impl PostgresServer {
    /// Creates a cluster in a temporary directory, starts it on a free port
    /// and creates the database `vigie_test`.
    ///
    /// Fails with [`TestkitError::MissingBinary`] if PostgreSQL is not
    /// installed, and with [`TestkitError::NotReady`] or
    /// [`TestkitError::ExitedEarly`] (with the end of the server's log) if the
    /// server does not accept queries within 30 seconds.
    pub fn start() -> Result<PostgresServer, TestkitError> {
        let bindir = sys::postgres_bindir()?;
        let root = sys::is_root();
        if root {
            sys::require_user(SYSTEM_USER, "postgresql")?;
        }
        let dir = tempfile::Builder::new()
            .prefix("vigie-pg-")
            .tempdir()
            .map_err(|err| TestkitError::io("cannot create a temporary directory", err))?;
        let data = dir.path().join("data");
        let sockets = dir.path().join("sockets");
        fs::create_dir(&sockets)
            .map_err(|err| TestkitError::io(format!("cannot create {}", sockets.display()), err))?;
        let log = dir.path().join("postgres.log");
        let mut server = PostgresServer { postmaster: None, reaper: None, port: 0, bindir, data, log, dir };
        if root {
            sys::chown_tree(server.dir.path(), SYSTEM_USER)?;
        }
        server.initdb()?;
        server.launch(&sockets)?;
        server.psql_in("postgres", &format!("CREATE DATABASE {DATABASE} OWNER {USER}"))?;
        Ok(server)
    }

    /// `postgres://vigie@127.0.0.1:PORT/vigie_test` (no password: trust
    /// authentication).
    pub fn url(&self) -> String {
        self.url_for(DATABASE)
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs SQL in `vigie_test` with `psql` and returns what it printed:
    /// unaligned, tuples only (`-A -t`), one row a line, columns separated by
    /// `|`, without the trailing newline. Stops at the first error.
    pub fn psql(&self, sql: &str) -> Result<String, TestkitError> {
        self.psql_in(DATABASE, sql)
    }

    /// Creates another empty database owned by `vigie` and returns its URL,
    /// so that tests sharing one server can each have their own database.
    /// `name` must be a plain SQL identifier.
    pub fn create_database(&self, name: &str) -> Result<String, TestkitError> {
        self.psql_in("postgres", &format!("CREATE DATABASE \"{name}\" OWNER {USER}"))?;
        Ok(self.url_for(name))
    }

    /// The server's log file (its stderr), inside the temporary directory.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The cluster's data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    fn url_for(&self, database: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{database}", self.port)
    }

    /// A command for a PostgreSQL program that refuses to run as root.
    fn as_system_user(&self, program: &str) -> Result<Command, TestkitError> {
        let program = self.bindir.join(program);
        let mut cmd = if sys::is_root() {
            let runuser = sys::find_program("runuser", &["/usr/sbin/runuser"], "util-linux")?;
            let mut cmd = Command::new(runuser);
            cmd.args(["-u", SYSTEM_USER, "--"]).arg(program);
            cmd
        } else {
            Command::new(program)
        };
        cmd.current_dir(self.dir.path());
        sys::clear_pg_env(&mut cmd);
        Ok(cmd)
    }

    fn initdb(&self) -> Result<(), TestkitError> {
        let mut cmd = self.as_system_user("initdb")?;
        cmd.arg("-D").arg(&self.data).args(["-U", USER, "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
        sys::run(&mut cmd).map(drop)
    }

    /// Starts the postmaster and waits until it accepts connections, trying
    /// another port if the chosen one was taken meanwhile.
    fn launch(&mut self, sockets: &Path) -> Result<(), TestkitError> {
        for attempt in 1..=PORT_ATTEMPTS {
            self.port = free_port();
            let log_start = fs::metadata(&self.log).map_or(0, |meta| meta.len());
            let log = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.log)
                .map_err(|err| TestkitError::io(format!("cannot open {}", self.log.display()), err))?;
            let stderr = log.try_clone().map_err(|err| TestkitError::io("cannot duplicate a file handle", err))?;
            let postgres = self.bindir.join("postgres");
            let mut cmd = if sys::is_root() {
                let setpriv = sys::find_program("setpriv", &["/usr/bin/setpriv"], "util-linux")?;
                let mut cmd = Command::new(setpriv);
                cmd.args([
                    format!("--reuid={SYSTEM_USER}"),
                    format!("--regid={SYSTEM_USER}"),
                    "--init-groups".into(),
                    "--".into(),
                ])
                .arg(postgres);
                cmd
            } else {
                Command::new(postgres)
            };
            sys::clear_pg_env(&mut cmd);
            cmd.current_dir(self.dir.path())
                .arg("-D")
                .arg(&self.data)
                .arg("-p")
                .arg(self.port.to_string())
                .args(["-c", "listen_addresses=127.0.0.1"])
                .arg("-c")
                .arg(format!("unix_socket_directories={}", sockets.display()))
                .args(["-c", "fsync=off", "-c", "synchronous_commit=on"])
                .stdin(Stdio::null())
                .stdout(Stdio::from(log))
                .stderr(Stdio::from(stderr));
            let line = sys::command_line(&cmd);
            let child = cmd.spawn().map_err(|err| TestkitError::io(format!("cannot start {line}"), err))?;
            self.reaper = Reaper::spawn(child.id(), "QUIT", self.dir.path());
            self.postmaster = Some(child);
            match self.wait_ready() {
                Err(TestkitError::ExitedEarly { .. }) if attempt < PORT_ATTEMPTS && self.port_was_taken(log_start) => {
                    self.stop();
                }
                other => return other,
            }
        }
        unreachable!("the last attempt returns")
    }

    /// Whether the log written since `log_start` says the port was taken.
    fn port_was_taken(&self, log_start: u64) -> bool {
        sys::log_since(&self.log, log_start).contains("Address already in use")
    }

    fn wait_ready(&mut self) -> Result<(), TestkitError> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let what = format!("postgres on {}", loopback(self.port));
        loop {
            if let Some(child) = self.postmaster.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.postmaster = None;
                return Err(TestkitError::ExitedEarly {
                    what,
                    status,
                    log: self.log.clone(),
                    log_tail: sys::log_tail(&[&self.log], 30),
                });
            }
            let mut isready = Command::new(self.bindir.join("pg_isready"));
            sys::clear_pg_env(&mut isready)
                .args(["-q", "-t", "1", "-h", "127.0.0.1", "-U", USER, "-d", "postgres"])
                .arg("-p")
                .arg(self.port.to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            if self.pid_file_says_ready() && isready.status().is_ok_and(|status| status.success()) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(TestkitError::NotReady {
                    what,
                    timeout: READY_TIMEOUT,
                    log: self.log.clone(),
                    log_tail: sys::log_tail(&[&self.log], 30),
                });
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether `postmaster.pid` names our postmaster and says `ready`, as
    /// `pg_ctl` checks: a connection alone could reach another server that
    /// took the port first.
    fn pid_file_says_ready(&self) -> bool {
        let Some(pid) = self.postmaster.as_ref().map(Child::id) else {
            return false;
        };
        let Ok(text) = fs::read_to_string(self.data.join("postmaster.pid")) else {
            return false;
        };
        let lines: Vec<&str> = text.lines().collect();
        lines.first().is_some_and(|first| first.trim() == pid.to_string())
            && lines.get(7).is_some_and(|status| status.trim() == "ready")
    }

    fn psql_in(&self, database: &str, sql: &str) -> Result<String, TestkitError> {
        let mut cmd = Command::new(self.bindir.join("psql"));
        sys::clear_pg_env(&mut cmd)
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .args(["-h", "127.0.0.1", "-U", USER, "-d", database])
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-c")
            .arg(sql);
        let out = sys::run(&mut cmd)?;
        Ok(out.trim_end_matches('\n').to_owned())
    }

    /// Immediate shutdown (`SIGQUIT`), then `SIGKILL` if the server is still
    /// there after 10 seconds.
    fn stop(&mut self) {
        // The watchdog goes first so that it cannot delete the directory
        // under a restarted server.
        self.reaper = None;
        let Some(mut child) = self.postmaster.take() else {
            return;
        };
        if !matches!(child.try_wait(), Ok(Some(_))) {
            sys::signal(child.id(), "QUIT");
            let deadline = Instant::now() + Duration::from_secs(10);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        self.stop();
    }
}
