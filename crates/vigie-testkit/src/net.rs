//! Free ports and waiting for a listener.

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use crate::TestkitError;

/// Returns a TCP port on 127.0.0.1 that was free a moment ago.
///
/// The port is drawn at random from below the kernel's ephemeral range
/// (`net.ipv4.ip_local_port_range`) and checked by binding it. Ports the kernel
/// hands out on its own — `bind(…:0)` and the source port of every outgoing
/// connection — come from the ephemeral range, so they never collide with these:
/// another test process asking the kernel for "any port", or a connection's
/// source port, cannot take a port given here between this check and the caller's
/// bind (and a probe of a port given here can never connect to itself). Within
/// one process the same port is never handed out twice; another process using
/// this function picks at random too, and the servers of this crate retry with a
/// new port in the rare case of a clash.
///
/// # Panics
///
/// Panics if no port of the range can be bound after many tries, which no test
/// could survive anyway.
pub fn free_port() -> u16 {
    static GIVEN: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    let given = GIVEN.get_or_init(|| Mutex::new(HashSet::new()));
    let (low, high) = non_ephemeral_range();
    let mut rng = seed();
    for _ in 0..10_000 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let port = low + (rng % u64::from(high - low)) as u16;
        let mut given = given.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if given.contains(&port) || TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_err() {
            continue;
        }
        given.insert(port);
        return port;
    }
    panic!("no free TCP port on 127.0.0.1 in {low}..{high} after 10 000 tries");
}

/// The ports free_port draws from: from 15 000 (above the usual services) up to
/// the start of the ephemeral range.
fn non_ephemeral_range() -> (u16, u16) {
    const LOW: u16 = 15_000;
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|p| p.parse::<u16>().ok()))
        .unwrap_or(32_768);
    if ephemeral_low > LOW + 1_000 {
        (LOW, ephemeral_low)
    } else {
        // An unusual kernel setting leaves no room below the ephemeral range: fall
        // back to the range above it.
        (61_000, 65_000)
    }
}

/// A per-process, per-call seed: the process id and the clock, so that two test
/// processes started together draw different sequences.
fn seed() -> u64 {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
    (nanos ^ (u64::from(std::process::id()) << 32)) | 1
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
///
/// A connection whose source is its own destination (TCP simultaneous open, which
/// Linux allows on loopback when the source port chosen equals the port probed)
/// is not a listener.
pub(crate) fn tcp_accepts(addr: SocketAddr) -> bool {
    match TcpStream::connect_timeout(&addr, Duration::from_millis(250)) {
        Ok(stream) => stream.local_addr().ok() != Some(addr),
        Err(_) => false,
    }
}

/// `127.0.0.1:port`.
pub(crate) fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}
