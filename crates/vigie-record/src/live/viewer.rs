//! A viewer of the hub's live view outside a browser (tests, the bench): the WebSocket
//! `ws://hub/api/v1/live/{camera}` yields a JSON text message describing the stream, then
//! binary messages, the init segment first, then fragments.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use tungstenite::client::IntoClientRequest;
use tungstenite::{Message, WebSocket};

/// What arrives on a live socket.
#[derive(Debug)]
pub enum Received {
    /// A description (`{"type":"init","mime":…}`) or a notice.
    Text(String),
    /// Init segment or fragment bytes.
    Media(Vec<u8>),
    Closed,
}

/// A connected viewer.
pub struct LiveViewer {
    ws: WebSocket<TcpStream>,
}

impl std::fmt::Debug for LiveViewer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LiveViewer")
    }
}

impl LiveViewer {
    /// Connects to `hub` (`http://host:port`) for `camera`, with extra request headers
    /// (`Authorization: Bearer …`, or a session cookie).
    pub fn connect(hub: &str, camera: &str, headers: &[(&str, &str)]) -> Result<LiveViewer, String> {
        let authority = hub.strip_prefix("http://").ok_or("an http:// hub is needed")?.trim_end_matches('/');
        let addr =
            authority.to_socket_addrs().map_err(|e| e.to_string())?.next().ok_or("the hub resolves to no address")?;
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(|e| e.to_string())?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        stream.set_read_timeout(Some(Duration::from_secs(15))).map_err(|e| e.to_string())?;
        let mut req =
            format!("ws://{authority}/api/v1/live/{camera}").into_client_request().map_err(|e| e.to_string())?;
        for (k, v) in headers {
            let name: tungstenite::http::HeaderName = k.parse().map_err(|_| format!("bad header name {k}"))?;
            req.headers_mut().insert(name, v.parse().map_err(|_| format!("bad header value for {k}"))?);
        }
        let (ws, _) = tungstenite::client(req, stream).map_err(|e| match e {
            tungstenite::HandshakeError::Failure(tungstenite::Error::Http(r)) => {
                let body = r.body().as_ref().map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
                format!("{} {}", r.status().as_u16(), body.trim())
            }
            other => other.to_string(),
        })?;
        Ok(LiveViewer { ws })
    }

    /// The next message (pings are answered on the way).
    pub fn receive(&mut self) -> Result<Received, String> {
        loop {
            match self.ws.read() {
                Ok(Message::Binary(b)) => return Ok(Received::Media(b.to_vec())),
                Ok(Message::Text(t)) => return Ok(Received::Text(t.to_string())),
                Ok(Message::Close(_)) => return Ok(Received::Closed),
                Ok(_) => {}
                Err(tungstenite::Error::ConnectionClosed) | Err(tungstenite::Error::AlreadyClosed) => {
                    return Ok(Received::Closed);
                }
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    pub fn close(mut self) {
        let _ = self.ws.close(None);
        let _ = self.ws.flush();
    }
}
