//! One FFmpeg process: spawned with its pipes, its log read on a thread, a watchdog that
//! kills it when it stalls or when the caller stops, and the reason it ended.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::log::{clean_log_line, is_error, redact};

/// Reads the child's log, line by line, on the log thread.
pub trait LogReader: Send + 'static {
    /// Every line of stderr; returns whether it reports a decoder error (corrupt input).
    fn line(&mut self, line: &str) -> bool;
}

impl<F: FnMut(&str) -> bool + Send + 'static> LogReader for F {
    fn line(&mut self, line: &str) -> bool {
        self(line)
    }
}

#[derive(Debug, Default)]
struct LogState {
    last_error: Option<String>,
    decoder_errors: u64,
}

/// A running child. Read its stdout with [`Supervised::read`] (each byte read feeds the
/// watchdog), then [`Supervised::finish`].
pub struct Supervised {
    stdout: ChildStdout,
    child: Arc<Mutex<Child>>,
    progress: Arc<AtomicU64>,
    total: u64,
    stalled: Arc<AtomicBool>,
    done: Arc<AtomicBool>,
    watchdog: Option<JoinHandle<()>>,
    log_thread: Option<JoinHandle<()>>,
    log: Arc<Mutex<LogState>>,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Supervised {
    /// Spawns `program args` (stdin closed, stdout and stderr piped). The watchdog kills the
    /// child when no byte came for `stall_timeout` (a stream that stalls) or when `stop` is
    /// set; `reader` sees every log line.
    pub fn spawn(
        program: &Path,
        args: &[String],
        stall_timeout: Duration,
        stop: &Arc<AtomicBool>,
        mut reader: impl LogReader,
    ) -> std::io::Result<Supervised> {
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::other("ffmpeg pipes unavailable"));
        };
        let log = Arc::new(Mutex::new(LogState::default()));
        let log_thread = {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    let decoder_error = reader.line(&line);
                    let mut st = locked(&log);
                    st.decoder_errors += u64::from(decoder_error);
                    if is_error(&line) {
                        st.last_error = Some(clean_log_line(&line));
                    }
                }
            })
        };
        let child = Arc::new(Mutex::new(child));
        let progress = Arc::new(AtomicU64::new(0));
        let stalled = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicBool::new(false));
        let watchdog = {
            let (child, progress, stalled, done, stop) =
                (Arc::clone(&child), Arc::clone(&progress), Arc::clone(&stalled), Arc::clone(&done), Arc::clone(stop));
            let timeout = stall_timeout.max(Duration::from_millis(100));
            std::thread::spawn(move || {
                let mut last = (0u64, Instant::now());
                while !done.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(20));
                    let p = progress.load(Ordering::Relaxed);
                    if p != last.0 {
                        last = (p, Instant::now());
                    }
                    let halt = stop.load(Ordering::Relaxed);
                    if halt || last.1.elapsed() > timeout {
                        stalled.store(!halt, Ordering::Relaxed);
                        let _ = locked(&child).kill();
                        break;
                    }
                }
            })
        };
        Ok(Supervised {
            stdout,
            child,
            progress,
            total: 0,
            stalled,
            done,
            watchdog: Some(watchdog),
            log_thread: Some(log_thread),
            log,
        })
    }

    /// Reads what stdout has (0 at its end); interrupted reads are retried.
    pub fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            match self.stdout.read(buf) {
                Ok(n) => {
                    self.total += n as u64;
                    self.progress.store(self.total, Ordering::Relaxed);
                    return Ok(n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Fills `buf` as far as the stream allows; fewer bytes than its length means the end.
    pub fn read_full(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.read(&mut buf[filled..])? {
                0 => break,
                n => filled += n,
            }
        }
        Ok(filled)
    }

    /// Bytes read from stdout so far.
    pub fn bytes_read(&self) -> u64 {
        self.total
    }

    /// Decoder errors the log reported so far.
    pub fn decoder_errors(&self) -> u64 {
        locked(&self.log).decoder_errors
    }

    /// Kills the child if it still runs, waits for it and for its threads.
    pub fn finish(mut self) -> Exit {
        self.done.store(true, Ordering::Relaxed);
        let status = {
            let mut c = locked(&self.child);
            let _ = c.kill();
            c.wait().ok()
        };
        for t in [self.watchdog.take(), self.log_thread.take()].into_iter().flatten() {
            let _ = t.join();
        }
        let log = locked(&self.log);
        Exit {
            status,
            stalled: self.stalled.load(Ordering::Relaxed),
            last_error: log.last_error.clone(),
            decoder_errors: log.decoder_errors,
            bytes: self.total,
        }
    }
}

/// How a child ended.
#[derive(Debug, Clone)]
pub struct Exit {
    pub status: Option<ExitStatus>,
    /// The watchdog killed it: nothing came for the stall timeout.
    pub stalled: bool,
    /// Its last error line, cleaned.
    pub last_error: Option<String>,
    pub decoder_errors: u64,
    /// Bytes read from its stdout.
    pub bytes: u64,
}

impl Exit {
    /// What went wrong, if anything: a stall, FFmpeg failing (with its last error line) on
    /// `url`, or its exit status. `None` for a clean end, or a kill asked by `stopping`.
    pub fn trouble(&self, url: &str, stall_timeout_secs: f64, stopping: bool) -> Option<String> {
        let failed = self.status.is_some_and(|s| !s.success()) && !stopping;
        if self.stalled {
            Some(format!("stream stalled: no data for {stall_timeout_secs} s"))
        } else if let Some(e) = self.last_error.as_ref().filter(|_| failed) {
            Some(format!("ffmpeg failed on {}: {e}", redact(url)))
        } else if failed {
            Some(format!("ffmpeg exited with {}", self.status.map_or("?".into(), |s| s.to_string())))
        } else {
            None
        }
    }
}

/// Waits for a one-shot child (a probe, an export's encode) at most `timeout`; past it the
/// child is killed and `None` is returned.
pub fn wait_timeout(child: &mut Child, timeout: Duration) -> std::io::Result<Option<ExitStatus>> {
    let until = Instant::now() + timeout;
    loop {
        if let Some(st) = child.try_wait()? {
            return Ok(Some(st));
        }
        if Instant::now() >= until {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, stall_ms: u64, stop: &Arc<AtomicBool>) -> Supervised {
        let args = vec!["-c".to_string(), script.to_string()];
        let reader = |l: &str| l.contains("corrupt");
        Supervised::spawn(Path::new("sh"), &args, Duration::from_millis(stall_ms), stop, reader).unwrap()
    }

    #[test]
    fn reads_to_the_end_and_keeps_the_log() {
        let stop = Arc::new(AtomicBool::new(false));
        let mut s = sh(
            "echo '[h264 @ 0x1] [warning] corrupt slice' >&2; echo '[tcp @ 0x2] [error] refused' >&2; printf abcdef; exit 3",
            5000,
            &stop,
        );
        let mut buf = [0u8; 4];
        assert_eq!(s.read_full(&mut buf).unwrap(), 4);
        assert_eq!(s.read_full(&mut buf).unwrap(), 2, "the end: fewer bytes than asked");
        let e = s.finish();
        assert_eq!((e.bytes, e.stalled, e.decoder_errors), (6, false, 1));
        assert_eq!(e.last_error.as_deref(), Some("refused"));
        assert_eq!(e.trouble("rtsp://u:p@cam/1", 5.0, false).unwrap(), "ffmpeg failed on rtsp://***@cam/1: refused");
        assert_eq!(e.trouble("x", 5.0, true), None, "a kill asked for is no trouble");
    }

    #[test]
    fn a_silent_child_is_killed_as_stalled() {
        let stop = Arc::new(AtomicBool::new(false));
        let mut s = sh("printf x; exec sleep 30", 300, &stop);
        let t = Instant::now();
        let mut buf = [0u8; 8];
        assert_eq!(s.read_full(&mut buf).unwrap(), 1);
        let e = s.finish();
        assert!(t.elapsed() < Duration::from_secs(10));
        assert!(e.stalled);
        assert_eq!(e.trouble("x", 0.3, false).unwrap(), "stream stalled: no data for 0.3 s");
    }

    #[test]
    fn stopping_kills_without_calling_it_a_stall() {
        let stop = Arc::new(AtomicBool::new(false));
        let mut s = sh("exec sleep 30", 60_000, &stop);
        stop.store(true, Ordering::Relaxed);
        let mut buf = [0u8; 8];
        assert_eq!(s.read_full(&mut buf).unwrap(), 0);
        let e = s.finish();
        assert!(!e.stalled);
        assert_eq!(e.trouble("x", 60.0, true), None);
    }

    #[test]
    fn a_one_shot_child_is_waited_for_or_killed_at_its_deadline() {
        let mut quick = Command::new("sh").args(["-c", "exit 2"]).spawn().unwrap();
        let st = wait_timeout(&mut quick, Duration::from_secs(10)).unwrap().expect("ended in time");
        assert_eq!(st.code(), Some(2));
        let mut slow = Command::new("sleep").arg("30").spawn().unwrap();
        let t = Instant::now();
        assert!(wait_timeout(&mut slow, Duration::from_millis(200)).unwrap().is_none());
        assert!(t.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_missing_program_is_an_error() {
        let stop = Arc::new(AtomicBool::new(false));
        let r =
            Supervised::spawn(Path::new("/nonexistent/ffmpeg"), &[], Duration::from_secs(1), &stop, |_: &str| false);
        assert!(r.is_err());
    }
}
