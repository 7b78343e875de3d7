//! Wire format: framing under a size limit, decoding of client packets through
//! rumqttc's codec into one protocol-neutral form, and encoding of the broker's
//! packets (by hand for the small ones and for PUBLISH, the hot path).

use bytes::{BufMut, Bytes, BytesMut};
use rumqttc::mqttbytes::v4;
use rumqttc::v5::mqttbytes::v5;

/// MQTT protocol version of a connection, chosen by its CONNECT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// MQTT 3.1.1 (protocol level 4).
    V4,
    /// MQTT 5 (protocol level 5).
    V5,
}

/// Packet type numbers (high nibble of the first byte).
const CONNECT: u8 = 1;
const DISCONNECT: u8 = 14;

/// The fixed header of a complete packet at the start of a buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame {
    pub byte1: u8,
    pub header_len: usize,
    pub remaining_len: usize,
}

impl Frame {
    pub fn len(&self) -> usize {
        self.header_len + self.remaining_len
    }

    pub fn packet_type(&self) -> u8 {
        self.byte1 >> 4
    }
}

/// What the start of the read buffer holds.
#[derive(Debug)]
pub(crate) enum FrameCheck {
    Complete(Frame),
    /// More bytes needed; `total` is the frame length once the header is known.
    Incomplete {
        total: Option<usize>,
    },
    TooLarge(usize),
    Malformed,
}

/// Frames the packet at the start of `buf` without copying, refusing frames
/// longer than `max_packet_bytes` before their body is read.
pub(crate) fn check_frame(buf: &[u8], max_packet_bytes: usize) -> FrameCheck {
    let Some(&byte1) = buf.first() else {
        return FrameCheck::Incomplete { total: None };
    };
    let mut remaining_len = 0usize;
    for i in 0..4 {
        let Some(&byte) = buf.get(1 + i) else {
            return FrameCheck::Incomplete { total: None };
        };
        remaining_len |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            let frame = Frame { byte1, header_len: 2 + i, remaining_len };
            let total = frame.len();
            if total > max_packet_bytes {
                return FrameCheck::TooLarge(total);
            }
            if buf.len() < total {
                return FrameCheck::Incomplete { total: Some(total) };
            }
            return FrameCheck::Complete(frame);
        }
    }
    FrameCheck::Malformed
}

/// A packet that cannot be decoded.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DecodeError {
    #[error("{0}")]
    V4(#[from] rumqttc::mqttbytes::Error),
    #[error("{0}")]
    V5(#[from] rumqttc::v5::mqttbytes::Error),
    #[error("topic is not utf-8")]
    TopicNotUtf8,
    #[error("first packet is not a connect")]
    NotConnect,
    #[error("decoder panicked")]
    DecoderPanicked,
}

/// A last will, as given in the CONNECT.
#[derive(Debug, Clone)]
pub(crate) struct Will {
    pub topic: String,
    pub payload: Bytes,
    pub qos: u8,
    pub retain: bool,
}

/// A decoded CONNECT, either version.
#[derive(Debug)]
pub(crate) struct InConnect {
    pub protocol: Protocol,
    pub client_id: String,
    pub clean_start: bool,
    pub keep_alive_secs: u16,
    /// MQTT 5 session expiry interval, seconds (absent = 0).
    pub session_expiry_secs: Option<u32>,
    /// MQTT 5 receive maximum of the client.
    pub receive_max: Option<u16>,
    /// MQTT 5 maximum packet size of the client.
    pub max_packet_size: Option<u32>,
    pub username: Option<String>,
    pub password: Option<Bytes>,
    pub will: Option<Will>,
}

/// Outcome of decoding the first packet.
#[derive(Debug)]
pub(crate) enum ConnectDecode {
    Connect(Box<InConnect>),
    /// MQTT 3.1 (protocol `MQIsdp`, level 3) or an unknown level.
    UnsupportedProtocol {
        level: u8,
    },
}

/// Decodes the CONNECT framed by `frame`, choosing the codec from its protocol level.
pub(crate) fn decode_connect(buf: &mut BytesMut, frame: &Frame) -> Result<ConnectDecode, DecodeError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decode_connect_unguarded(buf, frame)))
        .unwrap_or(Err(DecodeError::DecoderPanicked))
}

fn decode_connect_unguarded(buf: &mut BytesMut, frame: &Frame) -> Result<ConnectDecode, DecodeError> {
    if frame.packet_type() != CONNECT {
        return Err(DecodeError::NotConnect);
    }
    let body = &buf[frame.header_len..frame.len()];
    let name_len = match body.get(0..2) {
        Some(b) => usize::from(u16::from_be_bytes([b[0], b[1]])),
        None => return Err(DecodeError::V4(rumqttc::mqttbytes::Error::MalformedPacket)),
    };
    let name = body.get(2..2 + name_len);
    let level = body.get(2 + name_len).copied();
    match (name, level) {
        (Some(b"MQTT"), Some(4)) => {
            let v4::Packet::Connect(c) = v4::Packet::read(buf, usize::MAX)? else {
                return Err(DecodeError::NotConnect);
            };
            let (username, password) = split_login(c.login.map(|l| (l.username, l.password)));
            Ok(ConnectDecode::Connect(Box::new(InConnect {
                protocol: Protocol::V4,
                client_id: c.client_id,
                clean_start: c.clean_session,
                keep_alive_secs: c.keep_alive,
                session_expiry_secs: None,
                receive_max: None,
                max_packet_size: None,
                username,
                password,
                will: c.last_will.map(|w| Will {
                    topic: w.topic,
                    payload: w.message,
                    qos: w.qos as u8,
                    retain: w.retain,
                }),
            })))
        }
        (Some(b"MQTT"), Some(5)) => {
            let v5::Packet::Connect(c, will, login) = v5::Packet::read(buf, None)? else {
                return Err(DecodeError::NotConnect);
            };
            let (username, password) = split_login(login.map(|l| (l.username, l.password)));
            let will = match will {
                Some(w) => Some(Will {
                    topic: String::from_utf8(w.topic.to_vec()).map_err(|_| DecodeError::TopicNotUtf8)?,
                    payload: w.message,
                    qos: w.qos as u8,
                    retain: w.retain,
                }),
                None => None,
            };
            let properties = c.properties.as_ref();
            Ok(ConnectDecode::Connect(Box::new(InConnect {
                protocol: Protocol::V5,
                client_id: c.client_id,
                clean_start: c.clean_start,
                keep_alive_secs: c.keep_alive,
                session_expiry_secs: properties.and_then(|p| p.session_expiry_interval),
                receive_max: properties.and_then(|p| p.receive_maximum),
                max_packet_size: properties.and_then(|p| p.max_packet_size),
                username,
                password,
                will,
            })))
        }
        _ => {
            let _ = buf.split_to(frame.len());
            Ok(ConnectDecode::UnsupportedProtocol { level: level.unwrap_or(0) })
        }
    }
}

/// rumqttc gives empty strings for absent user name and password.
fn split_login(login: Option<(String, String)>) -> (Option<String>, Option<Bytes>) {
    match login {
        Some((username, password)) => (
            (!username.is_empty()).then_some(username),
            (!password.is_empty()).then(|| Bytes::from(password.into_bytes())),
        ),
        None => (None, None),
    }
}

/// A PUBLISH from a client.
#[derive(Debug)]
pub(crate) struct InPublish {
    pub topic: String,
    pub payload: Bytes,
    pub qos: u8,
    pub retain: bool,
    pub pkid: u16,
    /// MQTT 5 topic alias used: the broker announces none, so this is a protocol error.
    pub topic_alias: bool,
}

/// v5 retain handling of a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RetainHandling {
    OnEverySubscribe,
    OnNewSubscribe,
    Never,
}

/// One filter of a SUBSCRIBE.
#[derive(Debug)]
pub(crate) struct InFilter {
    pub filter: String,
    pub qos: u8,
    pub no_local: bool,
    pub retain_handling: RetainHandling,
}

/// A packet from a connected client, either version.
#[derive(Debug)]
pub(crate) enum Inbound {
    Publish(InPublish),
    PubAck(u16),
    PubRec(u16),
    PubRel(u16),
    PubComp(u16),
    Subscribe {
        pkid: u16,
        filters: Vec<InFilter>,
    },
    Unsubscribe {
        pkid: u16,
        filters: Vec<String>,
    },
    PingReq,
    Disconnect {
        /// MQTT 5 reason 0x04: disconnect but publish the will.
        publish_will: bool,
        session_expiry_secs: Option<u32>,
    },
    /// A packet a client may not send now (a second CONNECT, a CONNACK…).
    Unexpected(&'static str),
}

/// Decodes the complete packet framed by `frame` and removes it from `buf`.
pub(crate) fn decode(protocol: Protocol, buf: &mut BytesMut, frame: &Frame) -> Result<Inbound, DecodeError> {
    // Defence in depth: a panic in the third-party decoder on hostile bytes must
    // close one connection, not skip its cleanup.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decode_unguarded(protocol, buf, frame)))
        .unwrap_or(Err(DecodeError::DecoderPanicked))
}

fn decode_unguarded(protocol: Protocol, buf: &mut BytesMut, frame: &Frame) -> Result<Inbound, DecodeError> {
    match protocol {
        Protocol::V4 => decode_v4(buf),
        Protocol::V5 => {
            // rumqttc refuses the two-byte DISCONNECT that MQTT 5 allows (reason 0 implied).
            if frame.packet_type() == DISCONNECT && frame.remaining_len == 0 {
                let _ = buf.split_to(frame.len());
                return Ok(Inbound::Disconnect { publish_will: false, session_expiry_secs: None });
            }
            decode_v5(buf)
        }
    }
}

fn decode_v4(buf: &mut BytesMut) -> Result<Inbound, DecodeError> {
    use v4::Packet;
    Ok(match Packet::read(buf, usize::MAX)? {
        Packet::Publish(p) => Inbound::Publish(InPublish {
            topic: p.topic,
            payload: p.payload,
            qos: p.qos as u8,
            retain: p.retain,
            pkid: p.pkid,
            topic_alias: false,
        }),
        Packet::PubAck(a) => Inbound::PubAck(a.pkid),
        Packet::PubRec(a) => Inbound::PubRec(a.pkid),
        Packet::PubRel(a) => Inbound::PubRel(a.pkid),
        Packet::PubComp(a) => Inbound::PubComp(a.pkid),
        Packet::Subscribe(s) => Inbound::Subscribe {
            pkid: s.pkid,
            filters: s
                .filters
                .into_iter()
                .map(|f| InFilter {
                    filter: f.path,
                    qos: f.qos as u8,
                    no_local: false,
                    retain_handling: RetainHandling::OnEverySubscribe,
                })
                .collect(),
        },
        Packet::Unsubscribe(u) => Inbound::Unsubscribe { pkid: u.pkid, filters: u.topics },
        Packet::PingReq => Inbound::PingReq,
        Packet::Disconnect => Inbound::Disconnect { publish_will: false, session_expiry_secs: None },
        Packet::Connect(_) => Inbound::Unexpected("connect"),
        Packet::ConnAck(_) => Inbound::Unexpected("connack"),
        Packet::SubAck(_) => Inbound::Unexpected("suback"),
        Packet::UnsubAck(_) => Inbound::Unexpected("unsuback"),
        Packet::PingResp => Inbound::Unexpected("pingresp"),
    })
}

fn decode_v5(buf: &mut BytesMut) -> Result<Inbound, DecodeError> {
    use v5::Packet;
    Ok(match Packet::read(buf, None)? {
        Packet::Publish(p) => {
            let topic_alias = p.properties.as_ref().is_some_and(|p| p.topic_alias.is_some());
            Inbound::Publish(InPublish {
                topic: String::from_utf8(p.topic.to_vec()).map_err(|_| DecodeError::TopicNotUtf8)?,
                payload: p.payload,
                qos: p.qos as u8,
                retain: p.retain,
                pkid: p.pkid,
                topic_alias,
            })
        }
        Packet::PubAck(a) => Inbound::PubAck(a.pkid),
        Packet::PubRec(a) => Inbound::PubRec(a.pkid),
        Packet::PubRel(a) => Inbound::PubRel(a.pkid),
        Packet::PubComp(a) => Inbound::PubComp(a.pkid),
        Packet::Subscribe(s) => Inbound::Subscribe {
            pkid: s.pkid,
            filters: s
                .filters
                .into_iter()
                .map(|f| InFilter {
                    filter: f.path,
                    qos: f.qos as u8,
                    no_local: f.nolocal,
                    retain_handling: match f.retain_forward_rule {
                        v5::RetainForwardRule::OnEverySubscribe => RetainHandling::OnEverySubscribe,
                        v5::RetainForwardRule::OnNewSubscribe => RetainHandling::OnNewSubscribe,
                        v5::RetainForwardRule::Never => RetainHandling::Never,
                    },
                })
                .collect(),
        },
        Packet::Unsubscribe(u) => Inbound::Unsubscribe { pkid: u.pkid, filters: u.filters },
        Packet::PingReq(_) => Inbound::PingReq,
        Packet::Disconnect(d) => Inbound::Disconnect {
            publish_will: d.reason_code == v5::DisconnectReasonCode::DisconnectWithWillMessage,
            session_expiry_secs: d.properties.and_then(|p| p.session_expiry_interval),
        },
        Packet::Connect(..) => Inbound::Unexpected("connect"),
        Packet::ConnAck(_) => Inbound::Unexpected("connack"),
        Packet::SubAck(_) => Inbound::Unexpected("suback"),
        Packet::UnsubAck(_) => Inbound::Unexpected("unsuback"),
        Packet::PingResp(_) => Inbound::Unexpected("pingresp"),
        Packet::Auth(_) => Inbound::Unexpected("auth"),
    })
}

/// Result of a CONNECT, in protocol-neutral terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConnackCode {
    Success,
    UnsupportedProtocol,
    IdentifierRejected,
    BadCredentials,
    NotAuthorized,
}

/// Limits the broker announces to MQTT 5 clients in its CONNACK.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConnackLimits {
    pub receive_max: u16,
    pub max_packet_size: u32,
    pub assigned_client_id: Option<String>,
}

pub(crate) fn write_connack(
    out: &mut BytesMut,
    protocol: Protocol,
    session_present: bool,
    code: ConnackCode,
    limits: ConnackLimits,
) {
    match protocol {
        Protocol::V4 => {
            let code = match code {
                ConnackCode::Success => 0,
                ConnackCode::UnsupportedProtocol => 1,
                ConnackCode::IdentifierRejected => 2,
                ConnackCode::BadCredentials => 4,
                ConnackCode::NotAuthorized => 5,
            };
            out.put_slice(&[0x20, 2, u8::from(session_present), code]);
        }
        Protocol::V5 => {
            use v5::ConnectReturnCode as C;
            let code = match code {
                ConnackCode::Success => C::Success,
                ConnackCode::UnsupportedProtocol => C::UnsupportedProtocolVersion,
                ConnackCode::IdentifierRejected => C::ClientIdentifierNotValid,
                ConnackCode::BadCredentials => C::BadUserNamePassword,
                ConnackCode::NotAuthorized => C::NotAuthorized,
            };
            let properties = v5::ConnAckProperties {
                session_expiry_interval: None,
                receive_max: Some(limits.receive_max),
                max_qos: None,
                retain_available: None,
                max_packet_size: Some(limits.max_packet_size),
                assigned_client_identifier: limits.assigned_client_id,
                topic_alias_max: None,
                reason_string: None,
                user_properties: Vec::new(),
                wildcard_subscription_available: None,
                subscription_identifiers_available: Some(0),
                shared_subscription_available: None,
                server_keep_alive: None,
                response_information: None,
                server_reference: None,
                authentication_method: None,
                authentication_data: None,
            };
            let connack = v5::ConnAck { session_present, code, properties: Some(properties) };
            if let Err(error) = connack.write(out) {
                tracing::warn!(%error, "cannot encode connack");
            }
        }
    }
}

/// Writes a variable byte integer (remaining length).
fn put_varint(out: &mut BytesMut, mut n: usize) {
    loop {
        let mut byte = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            byte |= 0x80;
        }
        out.put_u8(byte);
        if n == 0 {
            return;
        }
    }
}

/// PUBACK (type 4), PUBREC (5) or PUBCOMP (7). MQTT 5 omits a success reason code.
fn write_ack(out: &mut BytesMut, first_byte: u8, protocol: Protocol, pkid: u16, reason: u8) {
    let [hi, lo] = pkid.to_be_bytes();
    if protocol == Protocol::V4 || reason == 0 {
        out.put_slice(&[first_byte, 2, hi, lo]);
    } else {
        out.put_slice(&[first_byte, 3, hi, lo, reason]);
    }
}

pub(crate) fn write_puback(out: &mut BytesMut, protocol: Protocol, pkid: u16, reason: u8) {
    write_ack(out, 0x40, protocol, pkid, reason);
}

pub(crate) fn write_pubrec(out: &mut BytesMut, protocol: Protocol, pkid: u16, reason: u8) {
    write_ack(out, 0x50, protocol, pkid, reason);
}

pub(crate) fn write_pubcomp(out: &mut BytesMut, protocol: Protocol, pkid: u16) {
    write_ack(out, 0x70, protocol, pkid, 0);
}

pub(crate) fn write_suback(out: &mut BytesMut, protocol: Protocol, pkid: u16, codes: &[u8]) {
    let properties_len = usize::from(protocol == Protocol::V5);
    out.put_u8(0x90);
    put_varint(out, 2 + properties_len + codes.len());
    out.put_u16(pkid);
    if protocol == Protocol::V5 {
        out.put_u8(0);
    }
    out.put_slice(codes);
}

pub(crate) fn write_unsuback(out: &mut BytesMut, protocol: Protocol, pkid: u16, reasons: &[u8]) {
    out.put_u8(0xB0);
    match protocol {
        Protocol::V4 => {
            out.put_u8(2);
            out.put_u16(pkid);
        }
        Protocol::V5 => {
            put_varint(out, 3 + reasons.len());
            out.put_u16(pkid);
            out.put_u8(0);
            out.put_slice(reasons);
        }
    }
}

pub(crate) fn write_pingresp(out: &mut BytesMut) {
    out.put_slice(&[0xD0, 0]);
}

/// Server-side DISCONNECT, MQTT 5 only (MQTT 3.1.1 just closes the socket).
pub(crate) fn write_disconnect(out: &mut BytesMut, protocol: Protocol, reason: u8) {
    if protocol == Protocol::V5 {
        out.put_slice(&[0xE0, 1, reason]);
    }
}

/// Encoded size of a PUBLISH, fixed header included.
pub(crate) fn publish_size(protocol: Protocol, topic_len: usize, payload_len: usize, qos: u8) -> usize {
    let pkid_len = if qos > 0 { 2 } else { 0 };
    let properties_len = usize::from(protocol == Protocol::V5);
    let remaining = 2 + topic_len + pkid_len + properties_len + payload_len;
    let varint_len = match remaining {
        0..128 => 1,
        128..16_384 => 2,
        16_384..2_097_152 => 3,
        _ => 4,
    };
    1 + varint_len + remaining
}

/// Encodes a PUBLISH to a subscriber. Hand-written: it is the hot path of
/// delivery and needs no allocation.
#[allow(clippy::too_many_arguments)]
pub(crate) fn write_publish(
    out: &mut BytesMut,
    protocol: Protocol,
    topic: &[u8],
    payload: &[u8],
    qos: u8,
    pkid: u16,
    dup: bool,
    retain: bool,
) {
    let pkid_len = if qos > 0 { 2 } else { 0 };
    let properties_len = usize::from(protocol == Protocol::V5);
    let remaining = 2 + topic.len() + pkid_len + properties_len + payload.len();
    out.reserve(5 + remaining);
    out.put_u8(0x30 | (u8::from(dup) << 3) | ((qos & 0b11) << 1) | u8::from(retain));
    put_varint(out, remaining);
    out.put_u16(topic.len() as u16);
    out.put_slice(topic);
    if qos > 0 {
        out.put_u16(pkid);
    }
    if protocol == Protocol::V5 {
        out.put_u8(0);
    }
    out.put_slice(payload);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_complete_and_partial_packets() {
        let ping = [0xC0, 0x00];
        assert!(matches!(check_frame(&ping, 100), FrameCheck::Complete(f) if f.len() == 2));
        assert!(matches!(check_frame(&[0x30], 100), FrameCheck::Incomplete { total: None }));
        assert!(matches!(check_frame(&[0x30, 10, 0], 100), FrameCheck::Incomplete { total: Some(12) }));
        assert!(matches!(check_frame(&[0x30, 0xff, 0x7f], 1000), FrameCheck::TooLarge(_)));
        assert!(matches!(check_frame(&[0x30, 0xff, 0xff, 0xff, 0xff, 0x01], usize::MAX), FrameCheck::Malformed));
    }

    #[test]
    fn encoded_publish_decodes_with_rumqttc() {
        for protocol in [Protocol::V4, Protocol::V5] {
            let mut out = BytesMut::new();
            write_publish(&mut out, protocol, b"a/b", b"hello", 1, 7, true, false);
            let frame = match check_frame(&out, 1000) {
                FrameCheck::Complete(f) => f,
                other => panic!("{other:?}"),
            };
            assert_eq!(frame.len(), out.len());
            assert_eq!(publish_size(protocol, 3, 5, 1), out.len());
            let Inbound::Publish(p) = decode(protocol, &mut out, &frame).unwrap() else {
                panic!("not a publish");
            };
            assert_eq!((p.topic.as_str(), &p.payload[..], p.qos, p.pkid), ("a/b", &b"hello"[..], 1, 7));
        }
    }

    #[test]
    fn accepts_the_short_mqtt5_disconnect() {
        let mut buf = BytesMut::from(&[0xE0u8, 0x00][..]);
        let FrameCheck::Complete(frame) = check_frame(&buf, 100) else {
            panic!("not framed");
        };
        assert!(matches!(
            decode(Protocol::V5, &mut buf, &frame).unwrap(),
            Inbound::Disconnect { publish_will: false, .. }
        ));
        assert!(buf.is_empty());
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;

    /// xorshift: deterministic, no dependency.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn random_packets_never_panic() {
        const FIRST_BYTES: [u8; 16] =
            [0x10, 0x20, 0x30, 0x32, 0x35, 0x3B, 0x40, 0x50, 0x62, 0x70, 0x82, 0x90, 0xA2, 0xB0, 0xC0, 0xE0];
        let iterations: usize =
            std::env::var("VIGIE_FUZZ_ITERATIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut decoded_ok = 0;
        for _ in 0..iterations {
            let first = FIRST_BYTES[(next(&mut state) % 16) as usize];
            let len = (next(&mut state) % 48) as usize;
            let mut body: Vec<u8> = (0..len)
                .map(|_| {
                    // Mostly small numbers, so that lengths inside the packet are plausible.
                    let byte = next(&mut state) as u8;
                    if next(&mut state).is_multiple_of(3) { byte } else { byte % 8 }
                })
                .collect();
            if first == 0x10 && len >= 8 {
                body[..7].copy_from_slice(&[0, 4, b'M', b'Q', b'T', b'T', 4 + (len % 2) as u8]);
            }
            let mut packet = vec![first, len as u8];
            packet.extend_from_slice(&body);
            for protocol in [Protocol::V4, Protocol::V5] {
                let mut buf = BytesMut::from(&packet[..]);
                if let FrameCheck::Complete(frame) = check_frame(&buf, 1 << 16) {
                    let decoded = if frame.packet_type() == CONNECT {
                        decode_connect(&mut buf, &frame).map(|_| ())
                    } else {
                        decode(protocol, &mut buf, &frame).map(|_| ())
                    };
                    match decoded {
                        Ok(()) => decoded_ok += 1,
                        Err(DecodeError::DecoderPanicked) => {
                            panic!("decoder panicked on {packet:02x?}")
                        }
                        Err(_) => {}
                    }
                }
            }
        }
        // The generator must reach the decoders' inner paths, not only fail framing.
        assert!(decoded_ok > iterations / 20, "only {decoded_ok} packets decoded");
    }
}
