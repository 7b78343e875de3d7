//! RSS/Atom polling and the Mastodon streaming API against real HTTP servers on localhost
//! (axum) that speak the documented formats, plus a server that hangs and one that sends
//! garbage: errors are counted per source, and the other sources carry on.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use vigie_social::config::Timeline;
use vigie_social::post::Platform;
use vigie_social::sources::feed::{FeedError, FeedSource, PollOutcome};
use vigie_social::sources::mastodon::MastodonSource;
use vigie_social::sources::ndjson::NdjsonSource;
use vigie_social::sources::runner::{Intake, Running, SourceMsg, SourceStats, Stop, spawn};

const RSS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Ouest-France Nantes</title><language>fr</language>
<item><guid>of-1</guid><title>Incendie place du Commerce</title>
<description>&lt;p&gt;Les pompiers sont sur place, &lt;b&gt;fumée&lt;/b&gt; visible.&lt;/p&gt;</description>
<pubDate>Sun, 22 Nov 2026 21:30:00 GMT</pubDate><author>jean.dupont@ouest-france.fr (Jean Dupont)</author></item>
<item><guid>of-2</guid><title>Le tram 1 reprend</title><pubDate>Sun, 22 Nov 2026 21:40:00 GMT</pubDate></item>
</channel></rss>"#;

fn intake(built: &vigie_social::config::Built) -> (Intake, std::sync::mpsc::Receiver<SourceMsg>, Arc<SourceStats>) {
    let (tx, rx) = std::sync::mpsc::sync_channel(1000);
    let stats = Arc::new(SourceStats { name: "test".into(), ..SourceStats::default() });
    (Intake::new(tx, stats.clone(), built.admission.clone(), Stop::default()), rx, stats)
}

fn posts(rx: &std::sync::mpsc::Receiver<SourceMsg>) -> Vec<vigie_social::Post<'static>> {
    rx.try_iter()
        .filter_map(|m| match m {
            SourceMsg::Post(p) => Some(p),
            SourceMsg::Delete(_) => None,
        })
        .collect()
}

#[test]
fn feeds_are_polled_with_validators_and_attributed_to_the_organisation() {
    let built = common::demo();
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let app = Router::new().route(
        "/rss",
        get(move |headers: HeaderMap| {
            let h = h.clone();
            async move {
                h.fetch_add(1, Ordering::SeqCst);
                if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some("\"v1\"") {
                    return StatusCode::NOT_MODIFIED.into_response();
                }
                ([(header::ETAG, "\"v1\""), (header::CONTENT_TYPE, "application/rss+xml")], RSS).into_response()
            }
        }),
    );
    let addr = common::serve(app);
    let (mut intake, rx, _) = intake(&built);
    let mut feed = FeedSource::new(
        format!("http://{addr}/rss"),
        "Ouest-France".into(),
        Duration::from_secs(60),
        Duration::from_secs(600),
    );
    assert_eq!(feed.poll_once(&mut intake), Ok(PollOutcome::Items(2)));
    let got = posts(&rx);
    assert_eq!(got.len(), 2);
    assert!(
        got[0].text.starts_with("Incendie place du Commerce. Les pompiers sont sur place, fumée visible."),
        "{}",
        got[0].text
    );
    assert!(!got[0].text.contains("Dupont") && !got[0].text.contains('<'));
    assert_eq!(got[0].platform, Platform::Feed);
    let org = got[0].organisation.and_then(|o| built.allowlist.name(o));
    assert_eq!(org, Some("Ouest-France"));
    // The second poll sends If-None-Match and gets 304; nothing is sent twice.
    assert_eq!(feed.poll_once(&mut intake), Ok(PollOutcome::NotModified));
    assert!(posts(&rx).is_empty());
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    assert_eq!(feed.next_wait(&Ok(PollOutcome::NotModified)), Duration::from_secs(60));
}

#[test]
fn bad_feeds_back_off_and_obey_retry_after() {
    let built = common::demo();
    let app = Router::new()
        .route("/html", get(|| async { "<html><body>not a feed</body></html>" }))
        .route("/busy", get(|| async { (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "120")], "later") }))
        .route("/gone", get(|| async { StatusCode::NOT_FOUND }));
    let addr = common::serve(app);
    let (mut intake, _rx, _) = intake(&built);
    let mk = |p: &str| {
        FeedSource::new(
            format!("http://{addr}{p}"),
            "Ouest-France".into(),
            Duration::from_secs(60),
            Duration::from_secs(900),
        )
    };
    let mut html = mk("/html");
    let r = html.poll_once(&mut intake);
    assert!(matches!(r, Err(FeedError::NotAFeed(_))), "{r:?}");
    let w1 = html.next_wait(&r);
    let w2 = html.next_wait(&r);
    assert!(w1 >= Duration::from_secs(96) && w2 > w1 && w2 <= Duration::from_secs(900), "{w1:?} {w2:?}");
    let mut busy = mk("/busy");
    let r = busy.poll_once(&mut intake);
    assert_eq!(r, Ok(PollOutcome::RetryAfter(Duration::from_secs(120))));
    assert_eq!(busy.next_wait(&r), Duration::from_secs(120));
    assert_eq!(mk("/gone").poll_once(&mut intake), Err(FeedError::Status(404)));
}

#[test]
fn a_hanging_feed_times_out() {
    let built = common::demo();
    let addr = common::black_hole();
    let (mut intake, _rx, _) = intake(&built);
    let mut feed = FeedSource::new(
        format!("http://{addr}/rss"),
        "Ouest-France".into(),
        Duration::from_secs(60),
        Duration::from_secs(600),
    )
    .with_timeouts(Duration::from_millis(500), Duration::from_secs(2));
    let t = Instant::now();
    let r = feed.poll_once(&mut intake);
    assert!(matches!(r, Err(FeedError::Network(_))), "{r:?}");
    assert!(t.elapsed() < Duration::from_secs(5));
}

fn status(id: &str, acct: &str, content: &str, extra: &str) -> String {
    format!(
        r#"{{"id":"{id}","uri":"https://mastodon.test/users/x/statuses/{id}","created_at":"2026-11-22T21:30:00.000Z","content":"{content}","spoiler_text":"","language":"fr","visibility":"public","account":{{"id":"9","username":"u","acct":"{acct}","display_name":"Someone Private","note":"<p>j'aime Nantes</p>"{extra}}},"tags":[],"reblog":null,"media_attachments":[],"mentions":[]}}"#
    )
}

fn sse_body() -> String {
    let mut s = String::from(":thump\n\n");
    let ev = |data: String| format!("event: update\ndata: {data}\n\n");
    s += &ev(status(
        "1",
        "camille_nts@mastodon.test",
        "<p>Fumée place du Commerce ! cc <span class=\\\"h-card\\\"><a href=\\\"https://mastodon.test/@alice_nts\\\" class=\\\"u-url mention\\\">@<span>alice_nts</span></a></span></p>",
        "",
    ));
    s += &ev(status("2", "bot_friend", "<p>hello</p>", r#","noindex":true"#)
        .replace(r#""note":"<p>j'aime Nantes</p>","noindex":true"#, r#""note":"","noindex":true"#));
    s += &ev(status("3", "quiet", "<p>incendie</p>", "").replace("j'aime Nantes", "pas de robots #NoBot"));
    s += &ev(status("4", "ouestfrance@mastodon.social", "<p>Incendie en cours place du Commerce</p>", ""));
    s += "event: update\ndata: {not a status}\n\n";
    s += "event: delete\ndata: 77\n\n";
    s += "event: status.update\ndata: {}\n\n";
    let reblog = status("5", "booster", "", "")
        .replace(r#""reblog":null"#, &format!(r#""reblog":{}"#, status("6", "orig", "<p>tram en panne</p>", "")));
    s += &ev(reblog);
    s
}

fn collect(running: &Running, want: impl Fn(&[SourceMsg]) -> bool) -> Vec<SourceMsg> {
    let mut got = Vec::new();
    let end = Instant::now() + Duration::from_secs(15);
    while Instant::now() < end && !want(&got) {
        if let Ok(m) = running.rx.recv_timeout(Duration::from_millis(100)) {
            got.push(m);
        }
    }
    got
}

#[test]
fn mastodon_streaming_statuses_are_admitted_with_opt_outs_honoured() {
    let built = common::demo();
    let body = sse_body();
    let app = Router::new().route(
        "/api/v1/streaming/public",
        get(move || {
            let body = body.clone();
            async move {
                Response::builder()
                    .header(header::CONTENT_TYPE, "text/event-stream")
                    .body(Body::from_stream(futures_util::stream::iter(
                        body.split_inclusive("\n\n")
                            .map(|c| Ok::<_, std::convert::Infallible>(Bytes::from(c.to_owned())))
                            .collect::<Vec<_>>(),
                    )))
                    .unwrap()
            }
        }),
    );
    let addr = common::serve(app);
    let src = MastodonSource::new(
        &format!("http://{addr}"),
        Timeline::Public,
        None,
        None,
        built.allowlist.clone(),
        Duration::from_secs(5),
    );
    assert!(src.url.ends_with("/api/v1/streaming/public"));
    let running = spawn(vec![Box::new(src)], &built.admission, 100);
    let got = collect(&running, |g| {
        g.iter().filter(|m| matches!(m, SourceMsg::Post(_))).count() >= 3
            && g.iter().any(|m| matches!(m, SourceMsg::Delete(_)))
    });
    let stats = running.stats[0].clone();
    running.join();
    let posts: Vec<_> = got.iter().filter_map(|m| if let SourceMsg::Post(p) = m { Some(p) } else { None }).collect();
    assert_eq!(posts.len(), 3, "{posts:#?}");
    // 1: HTML stripped, the mention redacted, the author pseudonymised.
    assert_eq!(posts[0].text, "Fumée place du Commerce ! cc @…");
    assert_eq!(posts[0].platform, Platform::Mastodon);
    let dbg = format!("{posts:?}");
    for h in ["camille_nts", "alice_nts", "booster", "Someone Private"] {
        assert!(!dbg.contains(h), "{h} leaked: {dbg}");
    }
    // 4: an allowlisted organisation keeps its name.
    assert_eq!(posts[1].organisation.and_then(|o| built.allowlist.name(o)), Some("Ouest-France"));
    assert!(posts[0].organisation.is_none());
    // 5: a boost is a reshare of 6's text.
    assert!(posts[2].reshare && posts[2].text == "tram en panne");
    assert!(got.iter().any(|m| matches!(m, SourceMsg::Delete(id) if id.ends_with("/77"))));
    assert_eq!(stats.rejected_count("opted_out"), 2, "noindex account and #NoBot note");
    assert!(stats.error_count("bad_event") >= 1);
}

#[test]
fn a_hung_or_garbage_source_does_not_hold_up_the_others() {
    let built = common::demo();
    // A streaming server that answers the headers, then says nothing.
    let app = Router::new()
        .route(
            "/api/v1/streaming/public",
            get(|| async {
                Response::builder()
                    .header(header::CONTENT_TYPE, "text/event-stream")
                    .body(Body::from_stream(futures_util::stream::pending::<Result<Bytes, std::convert::Infallible>>()))
                    .unwrap()
            }),
        )
        .route(
            "/garbage",
            get(|| async {
                ([(header::CONTENT_TYPE, "text/event-stream")], "\u{0}\u{1}garbage\nevent: update\ndata: ][\n\n")
            }),
        );
    let addr = common::serve(app);
    let mut hung = MastodonSource::new(
        &format!("http://{addr}"),
        Timeline::Public,
        None,
        None,
        built.allowlist.clone(),
        Duration::from_secs(2),
    );
    hung.stall = Duration::from_millis(700);
    let mut garbage = MastodonSource::new(
        &format!("http://{addr}/garbage"),
        Timeline::Public,
        None,
        None,
        built.allowlist.clone(),
        Duration::from_secs(2),
    );
    garbage.url = format!("http://{addr}/garbage");
    let dead = FeedSource::new(
        format!("http://{}/rss", common::black_hole()),
        "Ouest-France".into(),
        Duration::from_secs(60),
        Duration::from_secs(60),
    )
    .with_timeouts(Duration::from_millis(300), Duration::from_secs(1));
    let mut f = tempfile::NamedTempFile::new().unwrap();
    for i in 0..500 {
        use std::io::Write;
        writeln!(f, r#"{{"time":"2026-11-22T21:30:00Z","text":"post {i}","author":"a{i}"}}"#).unwrap();
    }
    let file = NdjsonSource { path: f.path().to_owned(), max_line_bytes: 4096 };
    let t = Instant::now();
    let running = spawn(vec![Box::new(hung), Box::new(garbage), Box::new(dead), Box::new(file)], &built.admission, 64);
    let got = collect(&running, |g| g.len() >= 500);
    assert_eq!(got.len(), 500, "the file's posts all arrived");
    assert!(t.elapsed() < Duration::from_secs(10));
    std::thread::sleep(Duration::from_secs(2));
    let s: Vec<_> = running.stats.clone();
    running.join();
    assert!(s[0].error_count("stalled") >= 1, "{}", s[0].snapshot());
    assert!(s[1].error_count("bad_event") >= 1, "{}", s[1].snapshot());
    assert!(s[2].error_count("network") >= 1, "{}", s[2].snapshot());
}
