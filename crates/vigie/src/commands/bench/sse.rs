//! A minimal server-sent-events reader for the bench: the real `/api/v1/stream` over HTTP,
//! recording when each incident change caused by a detection arrives.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Cause detection id → unix ns when its incident change arrived.
pub type Arrivals = Arc<Mutex<HashMap<String, u128>>>;

/// `token`: a service token with an operations role (the stream is operators' data).
pub async fn follow(addr: SocketAddr, token: String, arrivals: Arrivals) -> anyhow::Result<()> {
    let mut s = TcpStream::connect(addr).await?;
    s.write_all(format!(
            "GET /api/v1/stream HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\nAuthorization: Bearer {token}\r\n\r\n"
        ).as_bytes())
        .await?;
    let mut lines = BufReader::new(s).lines();
    while let Some(line) = lines.next_line().await? {
        let Some(data) = line.strip_prefix("data: ").or_else(|| line.strip_prefix("data:")) else { continue };
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        // Cheap scan for the cause: the stream is JSON, but parsing every event costs more
        // than the hub's own work at high rates.
        if let Some(p) = data.rfind("\"cause\":\"") {
            let rest = &data[p + 9..];
            if let Some(end) = rest.find('"') {
                arrivals.lock().unwrap_or_else(|p| p.into_inner()).entry(rest[..end].to_owned()).or_insert(now);
            }
        }
    }
    Ok(())
}
