//! Bad input is counted by reason and never crashes; what was good is still processed.

mod common;

use std::io::Write;

use vigie_social::run_ndjson;
use vigie_social::sources::ndjson::NdjsonSource;
use vigie_social::sources::runner::{SourceMsg, spawn};

fn good(i: usize) -> String {
    format!(
        r#"{{"id":"ok-{i}","time":"2026-11-22T21:{:02}:00Z","text":"Fumée place du Commerce {i}","author":"a{i}"}}"#,
        i % 60
    )
}

fn garbage() -> Vec<Vec<u8>> {
    vec![
        b"\xff\xfe\xfd not utf-8".to_vec(),
        b"{\"time\": \"2026-11-22T21:30:00Z\", \"text\": \"unterminated".to_vec(),
        b"[1, 2, 3]".to_vec(),
        b"{\"time\": \"yesterday\", \"text\": \"bad time\"}".to_vec(),
        b"{\"time\": \"2026-11-22T21:30:00Z\", \"text\": \"   \"}".to_vec(),
        b"{\"time\": \"2026-11-22T21:30:00Z\", \"text\": 42}".to_vec(),
        format!("{{\"time\":\"2026-11-22T21:30:00Z\",\"text\":\"{}\"}}", "x".repeat(200_000)).into_bytes(),
        format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes(),
        b"{\"time\": \"+275760-09-13T00:00:00Z\", \"text\": \"far future\"}".to_vec(),
    ]
}

#[test]
fn garbage_lines_are_counted_and_good_ones_kept() {
    let built = common::demo();
    let mut input = Vec::new();
    for (i, g) in garbage().into_iter().enumerate() {
        input.extend_from_slice(good(i).as_bytes());
        input.push(b'\n');
        input.extend_from_slice(&g);
        input.push(b'\n');
    }
    let mut p = built.pipeline();
    run_ndjson(&mut p, &built.admission, &input, 64 * 1024, 2);
    let r = &p.stats.rejected;
    assert_eq!(p.stats.admitted, 9, "{:?}", p.stats);
    assert_eq!(r.get("invalid_utf8"), Some(&1));
    assert_eq!(r.get("malformed_json"), Some(&4), "{r:?}");
    assert_eq!(r.get("invalid_time"), Some(&2), "{r:?}");
    assert_eq!(r.get("empty_text"), Some(&1));
    assert_eq!(r.get("line_too_long"), Some(&1));
    assert_eq!(p.stats.posts_in, 18);
}

#[test]
fn a_file_source_counts_garbage_and_delivers_the_rest() {
    let built = common::demo();
    let mut f = tempfile::NamedTempFile::new().unwrap();
    for (i, g) in garbage().into_iter().enumerate() {
        writeln!(f, "{}", good(i)).unwrap();
        f.write_all(&g).unwrap();
        writeln!(f).unwrap();
    }
    f.flush().unwrap();
    let src = NdjsonSource { path: f.path().to_owned(), max_line_bytes: 64 * 1024 };
    let running = spawn(vec![Box::new(src)], &built.admission, 16);
    let mut n = 0;
    while let Ok(m) = running.rx.recv_timeout(std::time::Duration::from_secs(5)) {
        if let SourceMsg::Post(p) = m {
            assert!(p.text.starts_with("Fumée"));
            n += 1;
        }
    }
    assert_eq!(n, 9);
    let st = &running.stats[0];
    assert_eq!(st.rejected_count("line_too_long"), 1);
    assert_eq!(st.rejected_count("malformed_json"), 4);
    running.join();
}

#[test]
fn a_missing_file_is_an_error_not_a_crash() {
    let built = common::demo();
    let src = NdjsonSource { path: "/nonexistent/posts.ndjson".into(), max_line_bytes: 1024 };
    let running = spawn(vec![Box::new(src)], &built.admission, 16);
    assert!(running.rx.recv_timeout(std::time::Duration::from_secs(5)).is_err());
    assert_eq!(running.stats[0].error_count("open"), 1);
    running.join();
}

#[test]
fn live_an_absurd_future_date_is_refused_and_does_not_stall_alerting() {
    let built = common::demo();
    let mut p = built.pipeline();
    let mut s = vigie_social::Scratch::default();
    let mut out = Vec::new();
    let now = 1_795_000_000_000;
    p.tick(now, &mut out);
    let mut adm = built.admission.clone();
    let mut post = |t: &str, text: &str| {
        let line = format!(r#"{{"time":"{t}","text":"{text}","author":"x"}}"#);
        let raw = vigie_social::sources::ndjson::parse_line(line.as_bytes()).unwrap();
        adm.admit(raw, vigie_social::post::Platform::Ndjson).unwrap().into_owned()
    };
    let far = post("9999-12-31T23:59:59Z", "Fumée place du Commerce");
    p.process(&far, &mut s, &mut out);
    assert_eq!(p.stats.rejected.get("out_of_range"), Some(&1));
    let t = chrono::DateTime::from_timestamp_millis(now).unwrap().to_rfc3339();
    let ok = post(&t, "Fumée place du Commerce");
    p.process(&ok, &mut s, &mut out);
    assert_eq!(p.stats.admitted, 1);
    assert_eq!(p.stats.late, 0, "stream time did not jump");
}
