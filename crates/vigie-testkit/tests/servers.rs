//! The test kit against the machine's real binaries: PostgreSQL queried with
//! `psql`, Mosquitto exercised with `mosquitto_pub` / `mosquitto_sub`
//! (Debian package mosquitto-clients).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use vigie_testkit::{ChildGuard, MosquittoServer, PostgresServer, TestkitError, free_port, wait_for_tcp};

fn accepts(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(500),
    )
    .is_ok()
}

fn eventually(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(Instant::now() < deadline, "{what} not true after {timeout:?}");
        thread::sleep(Duration::from_millis(50));
    }
}

fn mosquitto_client(name: &str) -> Command {
    let path = Path::new("/usr/bin").join(name);
    assert!(
        path.exists(),
        "{} missing: install the Debian package mosquitto-clients (scripts/test does)",
        path.display()
    );
    Command::new(path)
}

/// Subscribes, then publishes until the subscriber got one message; returns
/// what it received.
fn roundtrip(port: u16, topic: &str, payload: &str) -> String {
    let mut sub = ChildGuard(
        mosquitto_client("mosquitto_sub")
            .args(["-h", "127.0.0.1", "-q", "1", "-C", "1", "-W", "15", "-t", topic])
            .arg("-p")
            .arg(port.to_string())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn mosquitto_sub"),
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    // The subscription may not be in place yet: publish until it arrives.
    let status = loop {
        let published = mosquitto_client("mosquitto_pub")
            .args(["-h", "127.0.0.1", "-q", "1", "-t", topic, "-m", payload])
            .arg("-p")
            .arg(port.to_string())
            .status()
            .expect("run mosquitto_pub");
        assert!(published.success(), "mosquitto_pub failed: {published}");
        if let Some(status) = sub.try_wait().expect("try_wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "mosquitto_sub got nothing");
        thread::sleep(Duration::from_millis(200));
    };
    assert!(status.success(), "mosquitto_sub failed: {status}");
    let mut out = String::new();
    sub.stdout.take().expect("piped stdout").read_to_string(&mut out).expect("read mosquitto_sub output");
    out.trim_end().to_owned()
}

#[test]
fn postgres_starts_answers_and_keeps_commits_synchronous() {
    let pg = PostgresServer::start().expect("start postgres");
    assert_eq!(pg.url(), format!("postgres://vigie@127.0.0.1:{}/vigie_test", pg.port()));
    assert_ne!(pg.port(), 5432, "must not be the machine's server");
    assert_eq!(pg.psql("select 40 + 2").unwrap(), "42");
    assert_eq!(pg.psql("select current_user, current_database()").unwrap(), "vigie|vigie_test");
    assert_eq!(pg.psql("select rolsuper from pg_roles where rolname = 'vigie'").unwrap(), "t");
    assert_eq!(
        pg.psql("select pg_get_userbyid(datdba) from pg_database where datname = 'vigie_test'").unwrap(),
        "vigie"
    );
    assert_eq!(pg.psql("show synchronous_commit").unwrap(), "on");
    assert_eq!(pg.psql("show fsync").unwrap(), "off");
    assert_eq!(pg.psql("show listen_addresses").unwrap(), "127.0.0.1");
    let sockets = pg.psql("show unix_socket_directories").unwrap();
    assert!(
        Path::new(&sockets).starts_with(pg.data_dir().parent().unwrap()),
        "socket dir {sockets} outside the server's directory"
    );
    pg.psql(
        "create table t (id int primary key, name text); \
         insert into t values (1, 'un'), (2, 'deux')",
    )
    .unwrap();
    assert_eq!(pg.psql("select id, name from t order by id").unwrap(), "1|un\n2|deux");

    // The URL itself works for a client (trust authentication, no password).
    let out = Command::new("psql")
        .env_remove("PGHOST")
        .env_remove("PGPORT")
        .env_remove("PGUSER")
        .env_remove("PGDATABASE")
        .args(["-X", "-A", "-t", "-c", "select count(*) from t"])
        .arg(pg.url())
        .output()
        .expect("run psql with the URL");
    assert!(out.status.success(), "psql {}: {}", pg.url(), String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "2");

    // Errors carry the command and what psql said.
    let err = pg.psql("select * from no_such_table").unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, TestkitError::CommandFailed { .. }), "{text}");
    assert!(text.contains("no_such_table"), "{text}");
}

#[test]
fn postgres_servers_are_independent_and_vanish_on_drop() {
    let (a, b) = thread::scope(|scope| {
        let a = scope.spawn(PostgresServer::start);
        let b = scope.spawn(PostgresServer::start);
        (a.join().unwrap().unwrap(), b.join().unwrap().unwrap())
    });
    assert_ne!(a.port(), b.port());
    a.psql("create table only_in_a (x int)").unwrap();
    assert_eq!(b.psql("select count(*) from pg_tables where tablename = 'only_in_a'").unwrap(), "0");

    let url = a.create_database("second").unwrap();
    assert_eq!(url, format!("postgres://vigie@127.0.0.1:{}/second", a.port()));

    let dir = a.data_dir().parent().unwrap().to_path_buf();
    let port = a.port();
    assert!(dir.exists());
    drop(a);
    assert!(!dir.exists(), "{} left behind", dir.display());
    assert!(!accepts(port), "port {port} still accepts after drop");
    assert_eq!(b.psql("select 1").unwrap(), "1");
}

#[test]
fn mosquitto_publishes_and_subscribes() {
    let broker = MosquittoServer::start().expect("start mosquitto");
    assert_eq!(broker.url(), format!("mqtt://127.0.0.1:{}", broker.port()));
    assert_ne!(broker.port(), 1883, "must not be the machine's broker");
    assert_eq!(roundtrip(broker.port(), "vigie/v1/detections/cam-1", "hello"), "hello");
    let log = std::fs::read_to_string(broker.log_path()).unwrap();
    assert!(log.contains("running"), "log: {log}");
}

#[test]
fn mosquitto_restarts_on_the_same_port() {
    let mut broker = MosquittoServer::start().expect("start mosquitto");
    let port = broker.port();
    assert_eq!(roundtrip(port, "vigie/test/a", "before"), "before");

    // A client connected across the stop must not keep the port busy.
    let _idle_subscriber = ChildGuard(
        mosquitto_client("mosquitto_sub")
            .args(["-h", "127.0.0.1", "-t", "vigie/#"])
            .arg("-p")
            .arg(port.to_string())
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    thread::sleep(Duration::from_millis(200));

    broker.stop();
    assert!(!broker.is_running());
    assert!(!accepts(port), "port {port} still accepts after stop");
    broker.stop(); // twice is harmless

    broker.restart().expect("restart mosquitto");
    assert_eq!(broker.port(), port);
    assert!(broker.is_running());
    assert_eq!(roundtrip(port, "vigie/test/b", "after"), "after");

    // Restarting a running broker works too.
    broker.restart().expect("restart a running mosquitto");
    assert_eq!(roundtrip(port, "vigie/test/c", "again"), "again");

    let dir = broker.log_path().parent().unwrap().to_path_buf();
    drop(broker);
    assert!(!dir.exists(), "{} left behind", dir.display());
    assert!(!accepts(port));
}

/// More messages than Mosquitto's default queue (1000) wait for an offline
/// persistent session, and all of them arrive when it comes back.
#[test]
fn mosquitto_queues_without_limit_for_an_offline_session() {
    const COUNT: usize = 2500;
    let broker = MosquittoServer::start().expect("start mosquitto");
    let port = broker.port().to_string();
    let session = |extra: &[&str]| {
        let mut cmd = mosquitto_client("mosquitto_sub");
        cmd.args(["-h", "127.0.0.1", "-p", &port, "-c", "-i", "vigie-queue", "-q", "1", "-t", "q"]).args(extra);
        cmd
    };
    // Create the persistent session and go away (-E: exit once subscribed).
    let status = session(&["-E"]).status().unwrap();
    assert!(status.success());

    let mut publisher = ChildGuard(
        mosquitto_client("mosquitto_pub")
            .args(["-h", "127.0.0.1", "-p", &port, "-q", "1", "-t", "q", "-l"])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    {
        let mut stdin = publisher.stdin.take().unwrap();
        for i in 0..COUNT {
            writeln!(stdin, "m{i}").unwrap();
        }
    }
    assert!(publisher.wait().unwrap().success());

    let mut sub = ChildGuard(session(&["-C", &COUNT.to_string(), "-W", "30"]).stdout(Stdio::piped()).spawn().unwrap());
    let lines: Vec<String> = BufReader::new(sub.stdout.take().unwrap()).lines().map(Result::unwrap).collect();
    assert!(sub.wait().unwrap().success());
    assert_eq!(lines.len(), COUNT);
    assert_eq!(lines.first().map(String::as_str), Some("m0"));
    assert_eq!(lines.last().cloned(), Some(format!("m{}", COUNT - 1)), "in order, none lost");
}

#[test]
fn child_guard_kills_and_reaps() {
    let mut guard = ChildGuard(Command::new("sleep").arg("60").spawn().unwrap());
    let pid = guard.pid();
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    assert!(proc_dir.exists());
    guard.kill9();
    assert!(!proc_dir.exists(), "pid {pid} not reaped");
    guard.kill9(); // harmless

    let guard = ChildGuard::from(Command::new("sleep").arg("60").spawn().unwrap());
    let proc_dir = PathBuf::from(format!("/proc/{}", guard.pid()));
    drop(guard);
    assert!(!proc_dir.exists(), "not reaped on drop");
}

#[test]
fn free_ports_and_waiting_for_tcp() {
    let ports: Vec<u16> = (0..20).map(|_| free_port()).collect();
    let mut unique = ports.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), ports.len(), "a port was handed out twice");
    // Outside the kernel's ephemeral range, where `bind(:0)` and source ports live.
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap();
    let ephemeral: Vec<u16> = range.split_whitespace().map(|p| p.parse().unwrap()).collect();
    assert!(ports.iter().all(|p| *p < ephemeral[0] || *p > ephemeral[1]), "{ports:?} vs {range}");

    // A port held by a bound socket that does not listen: nobody else can listen
    // on it while the test runs, and every connection to it is refused.
    let port = free_port();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let held = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    held.bind(&addr.into()).unwrap();
    let err = wait_for_tcp(addr, Duration::from_millis(200)).unwrap_err();
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
    drop(held);

    let listener = TcpListener::bind(addr).unwrap();
    wait_for_tcp(addr, Duration::from_secs(2)).unwrap();
    drop(listener);
}

/// Run by `servers_are_cleaned_up_when_the_test_process_dies` in a child
/// process: start servers, report them, and exit without running any
/// destructor, as a killed or `static`-holding test process would.
#[test]
fn orphan_helper() {
    if std::env::var_os("VIGIE_TESTKIT_ORPHAN_HELPER").is_none() {
        return;
    }
    let broker = MosquittoServer::start().unwrap();
    let pg = PostgresServer::start().unwrap();
    println!(
        "ORPHAN {} {} {} {}",
        broker.port(),
        broker.log_path().parent().unwrap().display(),
        pg.port(),
        pg.data_dir().parent().unwrap().display()
    );
    std::io::stdout().flush().unwrap();
    std::process::exit(0);
}

#[test]
fn servers_are_cleaned_up_when_the_test_process_dies() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "orphan_helper", "--nocapture", "--test-threads=1"])
        .env("VIGIE_TESTKIT_ORPHAN_HELPER", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|line| line.split_once("ORPHAN ").map(|(_, rest)| rest))
        .unwrap_or_else(|| panic!("helper printed no servers:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    let fields: Vec<&str> = line.split(' ').collect();
    let (mqtt_port, mqtt_dir): (u16, &Path) = (fields[0].parse().unwrap(), Path::new(fields[1]));
    let (pg_port, pg_dir): (u16, &Path) = (fields[2].parse().unwrap(), Path::new(fields[3]));
    eventually("orphaned mosquitto stopped", Duration::from_secs(15), || !accepts(mqtt_port) && !mqtt_dir.exists());
    eventually("orphaned postgres stopped", Duration::from_secs(15), || !accepts(pg_port) && !pg_dir.exists());
}
