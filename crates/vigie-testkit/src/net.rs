//! Free ports and waiting for a listener.

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use crate::TestkitError;

/// Returns a TCP port on 127.0.0.1 that was free a moment ago.
///
/// The port is found by binding `127.0.0.1:0` and releasing the socket, so
/// another process may still take it before the caller does; the servers of
/// this crate retry with a new port when that happens. Within one process the
/// same port is never handed out twice.
///
/// # Panics
///
/// Panics if the operating system refuses to bind a loopback socket at all,
/// which no test could survive anyway.
pub fn free_port() -> u16 {
    static GIVEN: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    let given = GIVEN.get_or_init(|| Mutex::new(HashSet::new()));
    for _ in 0..1000 {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("cannot bind a TCP socket on 127.0.0.1");
        let port = listener.local_addr().expect("bound socket has no local address").port();
        drop(listener);
        let mut given = given.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if given.insert(port) {
            return port;
        }
    }
    panic!("no free TCP port on 127.0.0.1 after 1000 tries");
}

/// Waits until something accepts TCP connections on `addr`.
///
/// Polls every 25 ms; returns [`TestkitError::TcpTimeout`] after `timeout`.
pub fn wait_for_tcp(addr: SocketAddr, timeout: Duration) -> Result<(), TestkitError> {
    let deadline = Instant::now() + timeout;
    loop {
        if tcp_accepts(addr) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(TestkitError::TcpTimeout { addr, timeout });
        }
        thread::sleep(Duration::from_millis(25));
    }
}

/// One connection attempt.
pub(crate) fn tcp_accepts(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_millis(250)).is_ok()
}

/// `127.0.0.1:port`.
pub(crate) fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}
