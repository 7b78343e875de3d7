//! A child process that cannot outlive its test.

use std::ops::{Deref, DerefMut};
use std::process::Child;

/// A child process that is killed with `SIGKILL` and reaped when dropped.
///
/// Wrap whatever a test spawns (`ChildGuard(cmd.spawn()?)`, or
/// `ChildGuard::from(child)`) so that a failing assertion does not leave the
/// process running. The guard dereferences to the [`Child`], so `wait`,
/// `try_wait` and the pipes stay at hand.
#[derive(Debug)]
pub struct ChildGuard(pub Child);

impl ChildGuard {
    /// Wraps a spawned child.
    pub fn new(child: Child) -> Self {
        ChildGuard(child)
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    /// Kills the child with `SIGKILL` (a crash, nothing flushed) and reaps it.
    ///
    /// Does nothing if it has already ended; calling it twice is harmless.
    pub fn kill9(&mut self) {
        if matches!(self.0.try_wait(), Ok(Some(_))) {
            return;
        }
        // An error here means the child is already gone.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl From<Child> for ChildGuard {
    fn from(child: Child) -> Self {
        ChildGuard(child)
    }
}

impl Deref for ChildGuard {
    type Target = Child;

    fn deref(&self) -> &Child {
        &self.0
    }
}

impl DerefMut for ChildGuard {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A watchdog that stops a server and deletes its directory once the test
/// process is gone, even if it was killed or kept the server in a `static`
/// (statics are never dropped).
///
/// It is a small `sh` loop that polls the test process every half second.
/// When the server is stopped normally the watchdog is killed first.
#[derive(Debug)]
pub(crate) struct Reaper {
    _watchdog: ChildGuard,
}

const REAPER_SCRIPT: &str = r#"
trap '' INT HUP TERM
parent=$1 server=$2 signal=$3 dir=$4
while kill -0 "$parent" 2>/dev/null; do sleep 0.5; done
kill -s "$signal" "$server" 2>/dev/null
i=0
while kill -0 "$server" 2>/dev/null && [ "$i" -lt 20 ]; do sleep 0.5; i=$((i + 1)); done
kill -s KILL "$server" 2>/dev/null
rm -rf -- "$dir"
"#;

impl Reaper {
    /// Watches this process; when it ends, sends `signal` to `server`, then
    /// `SIGKILL` after 10 s, and removes `dir`. `None` if `sh` cannot start,
    /// which only loses the clean-up after an abnormal exit.
    pub(crate) fn spawn(server: u32, signal: &str, dir: &std::path::Path) -> Option<Reaper> {
        std::process::Command::new("sh")
            .arg("-c")
            .arg(REAPER_SCRIPT)
            .arg("vigie-testkit-reaper")
            .arg(std::process::id().to_string())
            .arg(server.to_string())
            .arg(signal)
            .arg(dir)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()
            .map(|child| Reaper { _watchdog: ChildGuard(child) })
    }
}
