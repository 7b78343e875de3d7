//! A private Mosquitto broker in a temporary directory.
//!
//! The configuration is written for tests that must not lose a message:
//! unlimited queues for offline persistent sessions (`max_queued_messages 0`,
//! `max_queued_bytes 0`), unlimited in-flight messages, the largest packet MQTT
//! allows, no persistence to disk (a restart is a clean broker on the same
//! port). It listens on 127.0.0.1 only and logs to a file in the temporary
//! directory; as root it is told to stay root (`user root`) instead of
//! switching to the `mosquitto` user, which could not write there.
//!
//! [`MosquittoServer::stop`] and [`MosquittoServer::restart`] kill the broker
//! and start it again on the same port, to test reconnection. Dropping the
//! value kills the broker and deletes the directory.

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::TestkitError;
use crate::net::{free_port, loopback, tcp_accepts};
use crate::process::Reaper;
use crate::sys;

/// How long a start or restart waits for the broker to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How many ports are tried when another process takes the one we picked.
const PORT_ATTEMPTS: usize = 5;
/// The largest packet MQTT can carry (the remaining-length limit, 256 MiB).
const MAX_PACKET_SIZE: u32 = 268_435_455;

/// A throw-away Mosquitto broker; killed and deleted on drop.
#[derive(Debug)]
pub struct MosquittoServer {
    child: Option<Child>,
    reaper: Option<Reaper>,
    port: u16,
    binary: PathBuf,
    conf: PathBuf,
    log: PathBuf,
    stderr: PathBuf,
    // Last, so that it is deleted after the broker has stopped.
    dir: TempDir,
}

impl MosquittoServer {
    /// Writes a configuration in a temporary directory and starts
    /// `mosquitto -c` on a free port.
    ///
    /// Fails with [`TestkitError::MissingBinary`] if Mosquitto is not
    /// installed, and with [`TestkitError::NotReady`] or
    /// [`TestkitError::ExitedEarly`] (with the end of its log) if it does not
    /// accept TCP connections within 10 seconds.
    pub fn start() -> Result<MosquittoServer, TestkitError> {
        let binary = sys::find_program("mosquitto", &["/usr/sbin/mosquitto"], "mosquitto")?;
        let dir = tempfile::Builder::new()
            .prefix("vigie-mosquitto-")
            .tempdir()
            .map_err(|err| TestkitError::io("cannot create a temporary directory", err))?;
        let mut server = MosquittoServer {
            child: None,
            reaper: None,
            port: 0,
            binary,
            conf: dir.path().join("mosquitto.conf"),
            log: dir.path().join("mosquitto.log"),
            stderr: dir.path().join("stderr.log"),
            dir,
        };
        for attempt in 1..=PORT_ATTEMPTS {
            server.port = free_port();
            server.write_config()?;
            let log_start = server.log_lens();
            match server.spawn_and_wait(Instant::now() + READY_TIMEOUT, log_start) {
                Err(TestkitError::ExitedEarly { .. })
                    if attempt < PORT_ATTEMPTS && server.port_was_taken(log_start) => {}
                Err(err) => return Err(err),
                Ok(()) => return Ok(server),
            }
        }
        unreachable!("the last attempt returns")
    }

    /// `mqtt://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    /// The TCP port on 127.0.0.1; the same across restarts.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the broker (`SIGKILL`: clients see their connection drop) and
    /// waits until it is gone. Nothing is kept: retained messages and
    /// sessions are lost. Harmless if it is already stopped.
    pub fn stop(&mut self) {
        self.reaper = None;
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the broker if it runs and starts it again on the same port.
    ///
    /// Retries for up to 10 seconds while the port is still held (by a
    /// closing socket, say); fails if it never frees.
    pub fn restart(&mut self) -> Result<(), TestkitError> {
        self.stop();
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let log_start = self.log_lens();
            match self.spawn_and_wait(deadline, log_start) {
                Err(TestkitError::ExitedEarly { .. })
                    if Instant::now() < deadline && self.port_was_taken(log_start) =>
                {
                    thread::sleep(Duration::from_millis(100));
                }
                other => return other,
            }
        }
    }

    /// Whether the broker process is running (it may not accept connections
    /// yet right after a restart).
    pub fn is_running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// The broker's log file, inside the temporary directory.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    fn write_config(&self) -> Result<(), TestkitError> {
        let user = if sys::is_root() { "user root\n" } else { "" };
        let config = format!(
            "# Written by vigie-testkit for one test; deleted with it.\n\
             listener {port} 127.0.0.1\n\
             allow_anonymous true\n\
             persistence false\n\
             max_queued_messages 0\n\
             max_queued_bytes 0\n\
             max_inflight_messages 0\n\
             max_inflight_bytes 0\n\
             max_packet_size {MAX_PACKET_SIZE}\n\
             memory_limit 0\n\
             set_tcp_nodelay true\n\
             {user}\
             log_dest file {log}\n\
             log_type error\n\
             log_type warning\n\
             log_type notice\n\
             log_type information\n\
             connection_messages true\n\
             log_timestamp true\n\
             log_timestamp_format %Y-%m-%dT%H:%M:%S\n",
            port = self.port,
            log = self.log.display(),
        );
        fs::write(&self.conf, config)
            .map_err(|err| TestkitError::io(format!("cannot write {}", self.conf.display()), err))
    }

    /// The sizes of the log and stderr files, to read what a new process adds.
    fn log_lens(&self) -> (u64, u64) {
        let len = |file: &Path| fs::metadata(file).map_or(0, |meta| meta.len());
        (len(&self.log), len(&self.stderr))
    }

    /// What the broker wrote to its log and stderr since `start`.
    fn output_since(&self, start: (u64, u64)) -> String {
        sys::log_since(&self.log, start.0) + &sys::log_since(&self.stderr, start.1)
    }

    /// Whether the broker started since `start` said the port was taken.
    fn port_was_taken(&self, start: (u64, u64)) -> bool {
        self.output_since(start).contains("Address already in use")
    }

    /// Spawns the broker and waits until it says it runs (so it holds the
    /// port: a connection alone could reach another process that took it)
    /// and accepts a TCP connection.
    fn spawn_and_wait(&mut self, deadline: Instant, log_start: (u64, u64)) -> Result<(), TestkitError> {
        let stderr = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.stderr)
            .map_err(|err| TestkitError::io(format!("cannot open {}", self.stderr.display()), err))?;
        let stdout = stderr.try_clone().map_err(|err| TestkitError::io("cannot duplicate a file handle", err))?;
        let mut cmd = Command::new(&self.binary);
        cmd.arg("-c")
            .arg(&self.conf)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::from(stdout))
            .stderr(Stdio::from(stderr));
        let line = sys::command_line(&cmd);
        let child = cmd.spawn().map_err(|err| TestkitError::io(format!("cannot start {line}"), err))?;
        self.reaper = Reaper::spawn(child.id(), "KILL", self.dir.path());
        self.child = Some(child);

        let addr = loopback(self.port);
        let what = format!("mosquitto on {addr}");
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                self.reaper = None;
                return Err(TestkitError::ExitedEarly {
                    what,
                    status,
                    log: self.log.clone(),
                    log_tail: sys::log_tail(&[&self.log, &self.stderr], 30),
                });
            }
            if self.output_since(log_start).contains(" running") && tcp_accepts(addr) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let err = TestkitError::NotReady {
                    what,
                    timeout: READY_TIMEOUT,
                    log: self.log.clone(),
                    log_tail: sys::log_tail(&[&self.log, &self.stderr], 30),
                };
                self.stop();
                return Err(err);
            }
            thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for MosquittoServer {
    fn drop(&mut self) {
        self.stop();
    }
}
