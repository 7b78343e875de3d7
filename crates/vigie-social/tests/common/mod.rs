//! Helpers shared by the integration tests: the demo config, generated streams, and real
//! HTTP servers (axum) on free localhost ports.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;

use vigie_social::config::{Built, SocialConfig};
use vigie_social::generate::{EventTruth, Generator, GeneratorConfig, PostTruth};

pub fn demo() -> Built {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../demo/nantes/social.toml"));
    let (cfg, base) = SocialConfig::from_file(path).expect("demo config parses");
    cfg.build(&base).expect("demo config is valid")
}

pub fn stream(built: &Built, cfg: GeneratorConfig) -> (Vec<u8>, Vec<PostTruth>, Vec<EventTruth>) {
    let mut g = Generator::new(cfg, built.analyzer.geo.gazetteer().clone());
    let (b, t) = g.run_all();
    (b, t, g.events.clone())
}

/// Serves `router` on a free port from a background thread; the server lives as long as
/// the test process.
pub fn serve(router: axum::Router) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
            tx.send(listener.local_addr().expect("addr")).expect("send addr");
            axum::serve(listener, router).await.expect("serve");
        });
    });
    rx.recv().expect("server address")
}

/// A TCP server that accepts connections and never answers (a hung source).
pub fn black_hole() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in l.incoming().flatten() {
            held.push(s);
        }
    });
    addr
}
