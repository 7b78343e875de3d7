//! One client connection: a reader task that parses and handles packets, and a
//! writer task that batches everything sent to the client.
//!
//! The reader parses every complete packet in its buffer before reading again.
//! An intercepted publish is handed to the interceptor and its acknowledgement
//! waits in an ordered queue (`pending`) while reading goes on; acknowledgements
//! leave in the order the publishes came. When `max_inflight_per_client` answers
//! are pending the reader stops reading: TCP pushes back on the client.
//!
//! The reader encodes its replies into a local buffer and hands it to the writer
//! once per round; the writer adds the session's queued messages and writes
//! everything with one call.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{Notify, oneshot};
use tokio::time::Instant;

use crate::broker::{Shared, decrement};
use crate::codec::{
    self, ConnackCode, ConnackLimits, ConnectDecode, FrameCheck, InConnect, InFilter, InPublish, Inbound, Protocol,
    RetainHandling, Will,
};
use crate::interceptor::{Ack, ConnectRefusal, InboundPublish, RefusalCode};
use crate::session::{Delivery, Enqueued, FillLimits, Owner, Persistence, Session, SubOptions};
use crate::signal::Signal;
use crate::stats;
use crate::topic;

/// A client must send its CONNECT within this time.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Read buffer growth step; one read takes whatever the socket has, up to this.
const READ_CHUNK_BYTES: usize = 64 * 1024;
/// Below this free space the read buffer grows before reading.
const MIN_READ_SPACE_BYTES: usize = 4 * 1024;
/// About how much the writer encodes before one write call.
const WRITE_BATCH_BYTES: usize = 256 * 1024;
/// Unacknowledged QoS 1 messages sent to one client (lowered by its MQTT 5 receive maximum).
const OUTGOING_WINDOW: usize = 1024;
/// Replies not yet taken by the writer beyond which the reader stops reading: a
/// client that publishes without reading its acknowledgements gets back-pressure.
const MAX_REPLY_BACKLOG_BYTES: usize = 1024 * 1024;
/// How long a closing connection may take to flush its last packets.
const CLOSE_FLUSH_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a new connection waits for the one it takes over to close.
const TAKEOVER_WAIT: Duration = Duration::from_secs(6);

/// MQTT 5 reason codes sent in a server DISCONNECT.
mod reason {
    pub const UNSPECIFIED: u8 = 0x80;
    pub const MALFORMED_PACKET: u8 = 0x81;
    pub const PROTOCOL_ERROR: u8 = 0x82;
    pub const SERVER_SHUTTING_DOWN: u8 = 0x8B;
    pub const KEEP_ALIVE_TIMEOUT: u8 = 0x8D;
    pub const SESSION_TAKEN_OVER: u8 = 0x8E;
    pub const TOPIC_NAME_INVALID: u8 = 0x90;
    pub const PACKET_TOO_LARGE: u8 = 0x95;
    /// Failure code of a SUBACK entry in MQTT 3.1.1.
    pub const V4_SUBSCRIBE_FAILURE: u8 = 0x80;
    pub const NOT_AUTHORIZED: u8 = 0x87;
    pub const TOPIC_FILTER_INVALID: u8 = 0x8F;
    pub const NO_SUBSCRIPTION_EXISTED: u8 = 0x11;
}

/// Why a connection ends.
#[derive(Debug, thiserror::Error)]
enum CloseReason {
    #[error("client disconnected")]
    Disconnect { publish_will: bool },
    #[error("connection closed by peer")]
    Eof,
    #[error("read failed: {0}")]
    Io(std::io::Error),
    #[error("write failed")]
    WriterFailed,
    #[error("malformed packet: {0}")]
    Malformed(String),
    #[error("packet of {0} bytes exceeds max_packet_bytes")]
    TooLarge(usize),
    #[error("protocol error: {0}")]
    Protocol(&'static str),
    #[error("invalid topic name in publish")]
    TopicInvalid,
    #[error("keepalive timeout")]
    KeepAlive,
    #[error("hub could not commit a publish")]
    HubFailed,
    #[error("session taken over by a new connection")]
    TakenOver,
    #[error("broker shutting down")]
    Shutdown,
}

impl CloseReason {
    /// Bounded label for logs and metrics.
    fn kind(&self) -> &'static str {
        match self {
            CloseReason::Disconnect { .. } => "disconnect",
            CloseReason::Eof => "eof",
            CloseReason::Io(_) => "io",
            CloseReason::WriterFailed => "write",
            CloseReason::Malformed(_) => "malformed_packet",
            CloseReason::TooLarge(_) => "packet_too_large",
            CloseReason::Protocol(_) => "protocol_error",
            CloseReason::TopicInvalid => "topic_invalid",
            CloseReason::KeepAlive => "keepalive_timeout",
            CloseReason::HubFailed => "hub_failed",
            CloseReason::TakenOver => "taken_over",
            CloseReason::Shutdown => "shutdown",
        }
    }

    fn is_packet_error(&self) -> bool {
        matches!(
            self,
            CloseReason::Malformed(_) | CloseReason::TooLarge(_) | CloseReason::Protocol(_) | CloseReason::TopicInvalid
        )
    }

    /// A clean DISCONNECT discards the will; a broker shutdown does not publish wills.
    fn publishes_will(&self) -> bool {
        match self {
            CloseReason::Disconnect { publish_will } => *publish_will,
            CloseReason::Shutdown => false,
            _ => true,
        }
    }

    /// Reason code of the DISCONNECT sent to an MQTT 5 client, if any.
    fn disconnect_code(&self) -> Option<u8> {
        Some(match self {
            CloseReason::Malformed(_) => reason::MALFORMED_PACKET,
            CloseReason::TooLarge(_) => reason::PACKET_TOO_LARGE,
            CloseReason::Protocol(_) => reason::PROTOCOL_ERROR,
            CloseReason::TopicInvalid => reason::TOPIC_NAME_INVALID,
            CloseReason::KeepAlive => reason::KEEP_ALIVE_TIMEOUT,
            CloseReason::HubFailed => reason::UNSPECIFIED,
            CloseReason::TakenOver => reason::SESSION_TAKEN_OVER,
            CloseReason::Shutdown => reason::SERVER_SHUTTING_DOWN,
            _ => return None,
        })
    }
}

/// What the reader hands to the writer.
struct Outbox {
    /// Encoded replies (CONNACK, PUBACK, SUBACK…), in order.
    control: Mutex<BytesMut>,
    /// Wakes the writer: replies or session messages to send.
    waker: Arc<Notify>,
    /// Wakes the reader: the writer took a backlog of replies.
    drained: Notify,
    /// The reader is done: flush the replies and stop.
    closing: Signal,
    /// The writer failed: the reader must stop.
    failed: Signal,
}

/// Which acknowledgement a publish needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AckKind {
    /// QoS 0: none.
    None,
    /// QoS 1: PUBACK.
    PubAck,
    /// QoS 2: PUBREC.
    PubRec,
}

enum Answer {
    Ready(Ack),
    Waiting(oneshot::Receiver<Ack>),
}

/// A publish awaiting its acknowledgement, in arrival order.
struct Pending {
    pkid: u16,
    kind: AckKind,
    answer: Answer,
    /// What to route once accepted; `None` when nobody subscribes.
    route: Option<Route>,
}

struct Route {
    topic: String,
    payload: Bytes,
    qos: u8,
    retain: bool,
}

/// Serves one TCP connection until it closes. Never panics on client input.
pub(crate) async fn serve(shared: Arc<Shared>, stream: TcpStream, peer: SocketAddr) {
    // Acknowledgements are small and latency matters more than packet count.
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%peer, %error, "cannot set TCP_NODELAY");
    }
    let (mut reader, mut writer) = stream.into_split();
    let mut buf = BytesMut::with_capacity(READ_CHUNK_BYTES);
    let conn_id = shared.next_conn_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed);

    let connect = match read_connect(&shared, &mut reader, &mut buf).await {
        Ok(connect) => connect,
        Err(HandshakeEnd::Refuse(bytes, why)) => {
            tracing::debug!(%peer, reason = why, "mqtt connect refused");
            let _ = tokio::time::timeout(CLOSE_FLUSH_TIMEOUT, writer.write_all(&bytes)).await;
            return;
        }
        Err(HandshakeEnd::Close(reason)) => {
            if reason.is_packet_error() {
                stats::add(&shared.counters.packet_errors_total, 1);
                tracing::warn!(
                    %peer,
                    reason = reason.kind(),
                    error = %reason,
                    "mqtt connection closed before connect"
                );
            } else {
                tracing::debug!(
                    %peer,
                    reason = reason.kind(),
                    error = %reason,
                    "mqtt connection closed before connect"
                );
            }
            return;
        }
    };

    let Some(mut conn) = accept_connect(&shared, conn_id, connect, &mut writer, peer).await else {
        return;
    };
    stats::add(&shared.counters.connections_total, 1);
    stats::add(&shared.counters.connections_current, 1);
    tracing::debug!(%peer, client_id = %conn.client_id, conn_id, "mqtt client connected");

    let writer_task = tokio::spawn(write_loop(
        writer,
        Arc::clone(&conn.out),
        Arc::clone(&conn.session),
        Arc::clone(&shared),
        conn_id,
        conn.protocol,
        conn.fill_limits,
    ));

    let reason = conn.run(&mut reader, &mut buf).await;
    conn.close(reason, writer_task, peer).await;
}

enum HandshakeEnd {
    /// Send these bytes (a refusing CONNACK) and close.
    Refuse(BytesMut, &'static str),
    Close(CloseReason),
}

/// Reads the first packet, which must be a CONNECT.
async fn read_connect(
    shared: &Shared,
    reader: &mut OwnedReadHalf,
    buf: &mut BytesMut,
) -> Result<Box<InConnect>, HandshakeEnd> {
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    loop {
        match codec::check_frame(buf, shared.cfg.max_packet_bytes) {
            FrameCheck::Complete(frame) => {
                return match codec::decode_connect(buf, &frame) {
                    Ok(ConnectDecode::Connect(connect)) => Ok(connect),
                    Ok(ConnectDecode::UnsupportedProtocol { level }) => {
                        tracing::debug!(level, "unsupported mqtt protocol level");
                        let mut out = BytesMut::new();
                        codec::write_connack(
                            &mut out,
                            Protocol::V4,
                            false,
                            ConnackCode::UnsupportedProtocol,
                            ConnackLimits::default(),
                        );
                        Err(HandshakeEnd::Refuse(out, "unsupported_protocol"))
                    }
                    Err(error) => Err(HandshakeEnd::Close(CloseReason::Malformed(error.to_string()))),
                };
            }
            FrameCheck::Incomplete { total } => {
                if let Some(total) = total {
                    buf.reserve(total.saturating_sub(buf.len()));
                }
            }
            FrameCheck::TooLarge(size) => {
                return Err(HandshakeEnd::Close(CloseReason::TooLarge(size)));
            }
            FrameCheck::Malformed => {
                return Err(HandshakeEnd::Close(CloseReason::Malformed("bad remaining length".into())));
            }
        }
        if buf.capacity() - buf.len() < MIN_READ_SPACE_BYTES {
            buf.reserve(READ_CHUNK_BYTES);
        }
        tokio::select! {
            read = tokio::time::timeout_at(deadline, reader.read_buf(buf)) => match read {
                Err(_) => {
                    return Err(HandshakeEnd::Close(CloseReason::Protocol("no connect in time")));
                }
                Ok(Ok(0)) => return Err(HandshakeEnd::Close(CloseReason::Eof)),
                Ok(Ok(_)) => {}
                Ok(Err(error)) => return Err(HandshakeEnd::Close(CloseReason::Io(error))),
            },
            _ = shared.shutdown.wait() => return Err(HandshakeEnd::Close(CloseReason::Shutdown)),
        }
    }
}

/// Validates a CONNECT, sets up the session and queues the CONNACK.
async fn accept_connect(
    shared: &Arc<Shared>,
    conn_id: u64,
    connect: Box<InConnect>,
    writer: &mut OwnedWriteHalf,
    peer: SocketAddr,
) -> Option<Connection> {
    let connect = *connect;
    let protocol = connect.protocol;
    let refuse = |code: ConnackCode| {
        let mut out = BytesMut::new();
        codec::write_connack(&mut out, protocol, false, code, ConnackLimits::default());
        out
    };
    let send_and_close = |out: BytesMut| async move {
        let _ = tokio::time::timeout(CLOSE_FLUSH_TIMEOUT, writer.write_all(&out)).await;
    };

    let mut assigned_client_id = None;
    let client_id = if connect.client_id.is_empty() {
        if protocol == Protocol::V4 && !connect.clean_start {
            // MQTT 3.1.1: an empty client id requires a clean session.
            stats::add(&shared.counters.refused_total, 1);
            send_and_close(refuse(ConnackCode::IdentifierRejected)).await;
            return None;
        }
        let id = format!("vigie-auto-{conn_id}");
        if protocol == Protocol::V5 {
            assigned_client_id = Some(id.clone());
        }
        id
    } else {
        connect.client_id
    };

    if let Err(refusal) =
        shared.interceptor.authenticate(&client_id, connect.username.as_deref(), connect.password.as_deref())
    {
        stats::add(&shared.counters.refused_total, 1);
        tracing::info!(%peer, client_id = %client_id, refusal = ?refusal, "mqtt connect refused");
        let code = match refusal {
            ConnectRefusal::BadCredentials => ConnackCode::BadCredentials,
            ConnectRefusal::NotAuthorized => ConnackCode::NotAuthorized,
        };
        send_and_close(refuse(code)).await;
        return None;
    }

    if let Some(will) = &connect.will
        && !topic::valid_topic_name(&will.topic)
    {
        stats::add(&shared.counters.packet_errors_total, 1);
        tracing::warn!(
            %peer,
            client_id = %client_id,
            reason = "will_topic_invalid",
            "mqtt connect refused"
        );
        return None;
    }

    let persistence = match protocol {
        Protocol::V4 if connect.clean_start => Persistence::Transient,
        Protocol::V4 => Persistence::Forever,
        Protocol::V5 => match connect.session_expiry_secs.unwrap_or(0) {
            0 => Persistence::Transient,
            u32::MAX => Persistence::Forever,
            secs => Persistence::For(Duration::from_secs(u64::from(secs))),
        },
    };

    let kill = Arc::new(Signal::default());
    let waker = Arc::new(Notify::new());
    let closed = Arc::new(Signal::default());
    let owner = Owner { conn_id, kill: Arc::clone(&kill), waker: Arc::clone(&waker), closed: Arc::clone(&closed) };
    let (session, session_present, previous_owner, discarded) = {
        let mut sessions = shared.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        let existing = sessions.get(&client_id).cloned();
        match existing {
            Some(session) if !connect.clean_start && !session.is_expired(Instant::now()) => {
                let previous = session.attach(owner, persistence);
                (session, true, previous, None)
            }
            existing => {
                let mut previous = None;
                let mut discarded = None;
                if let Some(old) = existing {
                    let (filters, old_owner) = old.discard();
                    previous = old_owner;
                    discarded = Some((old, filters));
                }
                let session = Session::new(client_id.clone(), shared.cfg.max_queued_messages, persistence);
                session.attach(owner, persistence);
                sessions.insert(client_id.clone(), Arc::clone(&session));
                (session, false, previous, discarded)
            }
        }
    };
    if let Some(previous) = previous_owner {
        // Spec: a second connection with the same client id closes the first.
        tracing::info!(
            client_id = %client_id,
            old_conn_id = previous.conn_id,
            "mqtt session taken over"
        );
        previous.kill.fire();
        // Wait for it to close and publish its will before this client gets its CONNACK:
        // a sensor's retained "offline" will must not land after its new "online".
        if tokio::time::timeout(TAKEOVER_WAIT, previous.closed.wait()).await.is_err() {
            tracing::warn!(client_id = %client_id, old_conn_id = previous.conn_id, "previous connection slow to close");
        }
    }
    if let Some((old, filters)) = discarded {
        shared.router.remove_session(&old, &filters);
    }

    let out = Arc::new(Outbox {
        control: Mutex::new(BytesMut::with_capacity(4096)),
        waker,
        drained: Notify::new(),
        closing: Signal::default(),
        failed: Signal::default(),
    });
    {
        let mut control = out.control.lock().unwrap_or_else(PoisonError::into_inner);
        codec::write_connack(
            &mut control,
            protocol,
            session_present,
            ConnackCode::Success,
            ConnackLimits {
                receive_max: u16::try_from(shared.cfg.max_inflight_per_client).unwrap_or(u16::MAX),
                max_packet_size: u32::try_from(shared.cfg.max_packet_bytes).unwrap_or(u32::MAX),
                assigned_client_id,
            },
        );
    }
    out.waker.notify_one();

    let fill_limits = FillLimits {
        window: connect.receive_max.map_or(OUTGOING_WINDOW, usize::from).clamp(1, OUTGOING_WINDOW),
        batch_bytes: WRITE_BATCH_BYTES,
        max_packet_bytes: connect.max_packet_size.map_or(usize::MAX, |n| n as usize),
    };
    Some(Connection {
        shared: Arc::clone(shared),
        conn_id,
        protocol,
        client_id,
        username: connect.username,
        keep_alive: (connect.keep_alive_secs > 0)
            .then(|| Duration::from_secs(u64::from(connect.keep_alive_secs)) * 3 / 2),
        will: connect.will,
        session,
        kill,
        closed,
        out,
        fill_limits,
        replies: BytesMut::with_capacity(4096),
        reply_backlog: 0,
        pending: VecDeque::new(),
        received: 0,
        intercepted: 0,
        refused: 0,
    })
}

/// The reader side of a connected client.
struct Connection {
    shared: Arc<Shared>,
    conn_id: u64,
    protocol: Protocol,
    client_id: String,
    username: Option<String>,
    /// 1.5 × the client's keepalive; `None` when it asked for none.
    keep_alive: Option<Duration>,
    will: Option<Will>,
    session: Arc<Session>,
    kill: Arc<Signal>,
    /// Fired at the very end of [`Connection::close`].
    closed: Arc<Signal>,
    out: Arc<Outbox>,
    /// What the writer may send this client at once.
    fill_limits: FillLimits,
    /// Replies encoded during this round, handed to the writer at its end.
    replies: BytesMut,
    /// Replies handed to the writer and not yet taken, as of the last look.
    reply_backlog: usize,
    pending: VecDeque<Pending>,
    // Counters batched per round: one atomic add instead of one per packet.
    received: u64,
    intercepted: u64,
    refused: u64,
}

/// The oldest pending answer, or never when there is none to wait for.
async fn next_answer(pending: &mut VecDeque<Pending>) -> Ack {
    match pending.front_mut().map(|p| &mut p.answer) {
        // A dropped sender is a failure: the hub did not commit.
        Some(Answer::Waiting(rx)) => rx.await.unwrap_or(Ack::Failed),
        _ => std::future::pending().await,
    }
}

impl Connection {
    async fn run(&mut self, reader: &mut OwnedReadHalf, buf: &mut BytesMut) -> CloseReason {
        let shared = Arc::clone(&self.shared);
        let kill = Arc::clone(&self.kill);
        let out = Arc::clone(&self.out);
        let killed = kill.wait();
        let shutdown = shared.shutdown.wait();
        let writer_failed = out.failed.wait();
        tokio::pin!(killed, shutdown, writer_failed);
        let max_inflight = shared.cfg.max_inflight_per_client;
        let mut last_read = Instant::now();
        let idle = tokio::time::sleep(self.keep_alive.unwrap_or(Duration::from_secs(3600)));
        tokio::pin!(idle);

        loop {
            let round = self.process(buf).and_then(|()| self.drain_answers());
            self.flush();
            if let Err(reason) = round {
                return reason;
            }
            if self.reply_backlog >= MAX_REPLY_BACKLOG_BYTES {
                let control = self.out.control.lock();
                self.reply_backlog = control.unwrap_or_else(PoisonError::into_inner).len();
            }
            let backlogged = self.reply_backlog >= MAX_REPLY_BACKLOG_BYTES;
            let can_read = self.pending.len() < max_inflight && !backlogged;
            if can_read && buf.capacity() - buf.len() < MIN_READ_SPACE_BYTES {
                buf.reserve(READ_CHUNK_BYTES);
            }
            tokio::select! {
                biased;
                _ = &mut killed => return CloseReason::TakenOver,
                _ = &mut shutdown => return CloseReason::Shutdown,
                _ = &mut writer_failed => return CloseReason::WriterFailed,
                answer = next_answer(&mut self.pending) => {
                    if let Some(front) = self.pending.pop_front()
                        && let Err(reason) = self.complete(front, answer)
                    {
                        self.flush();
                        return reason;
                    }
                }
                _ = out.drained.notified(), if backlogged => {}
                read = reader.read_buf(buf), if can_read => match read {
                    Ok(0) => return CloseReason::Eof,
                    Ok(_) => last_read = Instant::now(),
                    Err(error) => return CloseReason::Io(error),
                },
                _ = &mut idle, if self.keep_alive.is_some() => {
                    let limit = self.keep_alive.unwrap_or_default();
                    if can_read && last_read.elapsed() >= limit {
                        return CloseReason::KeepAlive;
                    }
                    // Not reading because the hub is slow is not the client's fault.
                    let from = if can_read { last_read } else { Instant::now() };
                    idle.as_mut().reset(from + limit);
                }
            }
        }
    }

    /// Handles every complete packet in `buf`, while fewer than
    /// `max_inflight_per_client` answers are pending.
    fn process(&mut self, buf: &mut BytesMut) -> Result<(), CloseReason> {
        let max_packet = self.shared.cfg.max_packet_bytes;
        let max_inflight = self.shared.cfg.max_inflight_per_client;
        while self.pending.len() < max_inflight {
            match codec::check_frame(buf, max_packet) {
                FrameCheck::Complete(frame) => {
                    let packet = codec::decode(self.protocol, buf, &frame)
                        .map_err(|error| CloseReason::Malformed(error.to_string()))?;
                    self.handle(packet)?;
                }
                FrameCheck::Incomplete { total } => {
                    if let Some(total) = total {
                        buf.reserve(total.saturating_sub(buf.len()));
                    }
                    return Ok(());
                }
                FrameCheck::TooLarge(size) => return Err(CloseReason::TooLarge(size)),
                FrameCheck::Malformed => {
                    return Err(CloseReason::Malformed("bad remaining length".into()));
                }
            }
        }
        Ok(())
    }

    /// Completes the pending publishes at the front whose answer has come.
    fn drain_answers(&mut self) -> Result<(), CloseReason> {
        while let Some(front) = self.pending.front_mut() {
            let ack = match &mut front.answer {
                Answer::Ready(ack) => *ack,
                Answer::Waiting(rx) => match rx.try_recv() {
                    Ok(ack) => ack,
                    Err(oneshot::error::TryRecvError::Empty) => return Ok(()),
                    Err(oneshot::error::TryRecvError::Closed) => Ack::Failed,
                },
            };
            if let Some(front) = self.pending.pop_front() {
                self.complete(front, ack)?;
            }
        }
        Ok(())
    }

    /// Acts on the answer to a publish: route, acknowledge, refuse or close.
    fn complete(&mut self, pending: Pending, ack: Ack) -> Result<(), CloseReason> {
        match ack {
            Ack::Accepted => {
                if let Some(route) = pending.route {
                    self.shared.router.publish(
                        Some(&self.client_id),
                        &route.topic,
                        route.payload,
                        route.qos,
                        route.retain,
                    );
                }
                if pending.kind == AckKind::PubRec {
                    self.session.qos2_received(pending.pkid);
                }
                self.write_ack(pending.kind, pending.pkid, 0);
            }
            Ack::Refused(code) => {
                self.refused += 1;
                self.write_ack(pending.kind, pending.pkid, code.reason_code());
            }
            Ack::Failed => {
                if pending.kind == AckKind::None {
                    // QoS 0: the client will not resend anyway.
                    tracing::debug!(client_id = %self.client_id, "hub failed a qos 0 publish");
                } else {
                    return Err(CloseReason::HubFailed);
                }
            }
        }
        Ok(())
    }

    fn write_ack(&mut self, kind: AckKind, pkid: u16, reason_code: u8) {
        match kind {
            AckKind::None => {}
            AckKind::PubAck => codec::write_puback(&mut self.replies, self.protocol, pkid, reason_code),
            AckKind::PubRec => codec::write_pubrec(&mut self.replies, self.protocol, pkid, reason_code),
        }
    }

    /// An answer known now: sent at once unless earlier publishes still wait.
    fn answer_now(&mut self, pkid: u16, kind: AckKind, ack: Ack) -> Result<(), CloseReason> {
        let pending = Pending { pkid, kind, answer: Answer::Ready(ack), route: None };
        if self.pending.is_empty() {
            self.complete(pending, ack)
        } else {
            self.pending.push_back(pending);
            Ok(())
        }
    }

    fn handle(&mut self, packet: Inbound) -> Result<(), CloseReason> {
        match packet {
            Inbound::Publish(publish) => self.on_publish(publish),
            Inbound::PubAck(pkid) => {
                self.session.acknowledged(pkid);
                Ok(())
            }
            Inbound::PubRel(pkid) => {
                self.session.qos2_released(pkid);
                codec::write_pubcomp(&mut self.replies, self.protocol, pkid);
                Ok(())
            }
            // The broker never sends QoS 2, so there is nothing to do for these.
            Inbound::PubRec(pkid) | Inbound::PubComp(pkid) => {
                tracing::debug!(
                    client_id = %self.client_id,
                    pkid,
                    "unexpected qos 2 acknowledgement"
                );
                Ok(())
            }
            Inbound::Subscribe { pkid, filters } => {
                self.on_subscribe(pkid, filters);
                Ok(())
            }
            Inbound::Unsubscribe { pkid, filters } => {
                let reasons: Vec<u8> = filters
                    .iter()
                    .map(|filter| {
                        let existed = self.shared.router.unsubscribe_session(&self.session, filter);
                        let recorded = self.session.remove_subscription(filter);
                        if existed || recorded { 0 } else { reason::NO_SUBSCRIPTION_EXISTED }
                    })
                    .collect();
                codec::write_unsuback(&mut self.replies, self.protocol, pkid, &reasons);
                Ok(())
            }
            Inbound::PingReq => {
                codec::write_pingresp(&mut self.replies);
                Ok(())
            }
            Inbound::Disconnect { publish_will, session_expiry_secs } => {
                if let Some(secs) = session_expiry_secs {
                    self.session.set_persistence(match secs {
                        0 => Persistence::Transient,
                        u32::MAX => Persistence::Forever,
                        secs => Persistence::For(Duration::from_secs(u64::from(secs))),
                    });
                }
                Err(CloseReason::Disconnect { publish_will })
            }
            Inbound::Unexpected(name) => Err(CloseReason::Protocol(name)),
        }
    }

    fn on_publish(&mut self, publish: InPublish) -> Result<(), CloseReason> {
        self.received += 1;
        if publish.topic_alias {
            // The CONNACK announced no topic alias.
            return Err(CloseReason::Protocol("topic alias not allowed"));
        }
        if !topic::valid_topic_name(&publish.topic) {
            return Err(CloseReason::TopicInvalid);
        }
        let kind = match publish.qos {
            0 => AckKind::None,
            1 => AckKind::PubAck,
            _ => AckKind::PubRec,
        };
        if kind == AckKind::PubRec && self.session.qos2_seen(publish.pkid) {
            // A resent QoS 2 publish: acknowledge again, deliver once.
            return self.answer_now(publish.pkid, kind, Ack::Accepted);
        }
        let shared = Arc::clone(&self.shared);
        if !shared.interceptor.authorize(&self.client_id, self.username.as_deref(), &publish.topic, false) {
            tracing::debug!(
                client_id = %self.client_id,
                topic = %publish.topic,
                "publish not authorized"
            );
            return self.answer_now(publish.pkid, kind, Ack::Refused(RefusalCode::NotAuthorized));
        }
        let qos = publish.qos.min(1);
        if shared.cfg.intercepts(&publish.topic) {
            self.intercepted += 1;
            // Keep a copy only if it must be routed once accepted.
            let route = (publish.retain || shared.router.intercepted_have_subscribers()).then(|| Route {
                topic: publish.topic.clone(),
                payload: publish.payload.clone(),
                qos,
                retain: publish.retain,
            });
            let rx = shared.interceptor.on_publish(InboundPublish {
                client_id: self.client_id.clone(),
                username: self.username.clone(),
                topic: publish.topic,
                payload: publish.payload,
                qos: publish.qos,
            });
            self.pending.push_back(Pending { pkid: publish.pkid, kind, answer: Answer::Waiting(rx), route });
            return Ok(());
        }
        if kind == AckKind::PubRec {
            self.session.qos2_received(publish.pkid);
        }
        shared.router.publish(Some(&self.client_id), &publish.topic, publish.payload, qos, publish.retain);
        self.answer_now(publish.pkid, kind, Ack::Accepted)
    }

    fn on_subscribe(&mut self, pkid: u16, filters: Vec<InFilter>) {
        let v5 = self.protocol == Protocol::V5;
        let mut codes = Vec::with_capacity(filters.len());
        let mut with_retained = Vec::new();
        for requested in filters {
            let Some(parsed) = topic::parse_filter(&requested.filter) else {
                tracing::debug!(
                    client_id = %self.client_id,
                    filter = %requested.filter,
                    "invalid subscription filter"
                );
                codes.push(if v5 { reason::TOPIC_FILTER_INVALID } else { reason::V4_SUBSCRIBE_FAILURE });
                continue;
            };
            if !self.shared.interceptor.authorize(&self.client_id, self.username.as_deref(), &requested.filter, true) {
                self.refused += 1;
                tracing::debug!(
                    client_id = %self.client_id,
                    filter = %requested.filter,
                    "subscription not authorized"
                );
                codes.push(if v5 { reason::NOT_AUTHORIZED } else { reason::V4_SUBSCRIBE_FAILURE });
                continue;
            }
            // QoS 2 is granted as QoS 1: deliveries are at least once.
            let qos = requested.qos.min(1);
            let is_shared = parsed.group.is_some();
            let matched_filter = parsed.filter.to_string();
            self.shared.router.subscribe_session(&self.session, &requested.filter, qos, requested.no_local);
            let is_new =
                self.session.add_subscription(&requested.filter, SubOptions { qos, no_local: requested.no_local });
            let send_retained = match requested.retain_handling {
                RetainHandling::OnEverySubscribe => true,
                RetainHandling::OnNewSubscribe => is_new,
                RetainHandling::Never => false,
            };
            // MQTT 5: shared subscriptions get no retained messages.
            if send_retained && !is_shared {
                with_retained.push((matched_filter, qos));
            }
            codes.push(qos);
        }
        codec::write_suback(&mut self.replies, self.protocol, pkid, &codes);
        // SUBACK first, then the retained messages.
        self.flush();
        let mut delivered = 0;
        let mut dropped = 0;
        for (filter, qos) in with_retained {
            for retained in self.shared.router.retained_for(&filter) {
                match self.session.enqueue(Delivery {
                    topic: retained.topic,
                    payload: retained.payload,
                    qos: retained.qos.min(qos),
                    retain: true,
                }) {
                    Enqueued::Queued => delivered += 1,
                    Enqueued::Dropped => dropped += 1,
                    Enqueued::Skipped => {}
                }
            }
        }
        stats::add(&self.shared.counters.publishes_delivered_total, delivered);
        stats::add(&self.shared.counters.dropped_total, dropped);
    }

    /// Hands this round's replies to the writer and adds the batched counters.
    fn flush(&mut self) {
        if !self.replies.is_empty() {
            let mut control = self.out.control.lock().unwrap_or_else(PoisonError::into_inner);
            if control.is_empty() {
                // Swap buffers instead of copying.
                std::mem::swap(&mut *control, &mut self.replies);
            } else {
                control.extend_from_slice(&self.replies);
                self.replies.clear();
            }
            self.reply_backlog = control.len();
            drop(control);
            self.out.waker.notify_one();
        }
        let counters = &self.shared.counters;
        stats::add(&counters.publishes_received_total, std::mem::take(&mut self.received));
        stats::add(&counters.intercepted_total, std::mem::take(&mut self.intercepted));
        stats::add(&counters.refused_total, std::mem::take(&mut self.refused));
    }

    /// Says goodbye: last replies, session detached or discarded, will published.
    async fn close(mut self, reason: CloseReason, writer_task: tokio::task::JoinHandle<()>, peer: SocketAddr) {
        let shared = Arc::clone(&self.shared);
        if reason.is_packet_error() {
            stats::add(&shared.counters.packet_errors_total, 1);
            tracing::warn!(
                %peer,
                client_id = %self.client_id,
                reason = reason.kind(),
                error = %reason,
                "mqtt connection closed"
            );
        } else {
            tracing::debug!(
                %peer,
                client_id = %self.client_id,
                reason = reason.kind(),
                error = %reason,
                "mqtt connection closed"
            );
        }
        if let Some(code) = reason.disconnect_code() {
            codec::write_disconnect(&mut self.replies, self.protocol, code);
        }
        self.flush();
        self.out.closing.fire();
        let abort = writer_task.abort_handle();
        if tokio::time::timeout(CLOSE_FLUSH_TIMEOUT, writer_task).await.is_err() {
            abort.abort();
        }

        let discarded = {
            let mut sessions = shared.sessions.lock().unwrap_or_else(PoisonError::into_inner);
            match self.session.detach(self.conn_id) {
                Some(true) => {
                    if sessions.get(&self.client_id).is_some_and(|s| Arc::ptr_eq(s, &self.session)) {
                        sessions.remove(&self.client_id);
                    }
                    Some(self.session.discard().0)
                }
                _ => None,
            }
        };
        if let Some(filters) = discarded {
            shared.router.remove_session(&self.session, &filters);
        }

        if reason.publishes_will()
            && let Some(will) = self.will.take()
        {
            self.publish_will(will);
        }
        decrement(&shared.counters.connections_current);
        self.closed.fire();
    }

    /// Publishes the last will, through the interceptor when its topic is intercepted.
    fn publish_will(&self, will: Will) {
        let shared = Arc::clone(&self.shared);
        if !shared.interceptor.authorize(&self.client_id, self.username.as_deref(), &will.topic, false) {
            tracing::debug!(
                client_id = %self.client_id,
                topic = %will.topic,
                "will not authorized"
            );
            stats::add(&shared.counters.refused_total, 1);
            return;
        }
        stats::add(&shared.counters.publishes_received_total, 1);
        tracing::debug!(client_id = %self.client_id, topic = %will.topic, "publishing will");
        let qos = will.qos.min(1);
        if !shared.cfg.intercepts(&will.topic) {
            shared.router.publish(Some(&self.client_id), &will.topic, will.payload, qos, will.retain);
            return;
        }
        stats::add(&shared.counters.intercepted_total, 1);
        let rx = shared.interceptor.on_publish(InboundPublish {
            client_id: self.client_id.clone(),
            username: self.username.clone(),
            topic: will.topic.clone(),
            payload: will.payload.clone(),
            qos: will.qos,
        });
        let client_id = self.client_id.clone();
        tokio::spawn(async move {
            match rx.await {
                Ok(Ack::Accepted) => {
                    shared.router.publish(Some(&client_id), &will.topic, will.payload, qos, will.retain);
                }
                Ok(Ack::Refused(_)) => stats::add(&shared.counters.refused_total, 1),
                Ok(Ack::Failed) | Err(_) => {
                    tracing::debug!(client_id = %client_id, "hub failed the will publish");
                }
            }
        });
    }
}

/// The writer task: sends the reader's replies and the session's messages,
/// batched into as few write calls as possible.
async fn write_loop(
    mut writer: OwnedWriteHalf,
    out: Arc<Outbox>,
    session: Arc<Session>,
    shared: Arc<Shared>,
    conn_id: u64,
    protocol: Protocol,
    limits: FillLimits,
) {
    let mut batch = BytesMut::with_capacity(READ_CHUNK_BYTES);
    loop {
        let closing = out.closing.is_fired();
        let taken = {
            let mut control = out.control.lock().unwrap_or_else(PoisonError::into_inner);
            let taken = control.len();
            if batch.is_empty() {
                std::mem::swap(&mut batch, &mut *control);
            } else {
                batch.extend_from_slice(&control);
                control.clear();
            }
            taken
        };
        if taken >= MAX_REPLY_BACKLOG_BYTES {
            out.drained.notify_one();
        }
        if !closing {
            let filled = session.fill(conn_id, protocol, &mut batch, limits);
            stats::add(&shared.counters.dropped_total, filled.too_large as u64);
        }
        if batch.is_empty() {
            if closing {
                break;
            }
            tokio::select! {
                _ = out.waker.notified() => {}
                _ = out.closing.wait() => {}
            }
            continue;
        }
        if let Err(error) = writer.write_all(&batch).await {
            tracing::debug!(client_id = %session.client_id, %error, "mqtt write failed");
            out.failed.fire();
            return;
        }
        batch.clear();
    }
    let _ = writer.shutdown().await;
}
