//! Where detections go: parsed once, at start, into a checked form.

use std::fmt;
use std::str::FromStr;

use crate::PublishError;

/// A hub reachable over HTTP or MQTT, or standard output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `http://host:port[/prefix]`; `authority` is `host:port`, `prefix` has no trailing `/`.
    Http { authority: String, prefix: String },
    /// `mqtt://host:port`.
    Mqtt { host: String, port: u16 },
    /// `-`: NDJSON lines on standard output.
    Stdout,
}

impl FromStr for Target {
    type Err = PublishError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = |detail: &str| PublishError::InvalidTarget { target: s.to_owned(), detail: detail.to_owned() };
        if s == "-" {
            return Ok(Target::Stdout);
        }
        if let Some(rest) = s.strip_prefix("http://") {
            let (authority, prefix) = match rest.find('/') {
                Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
                None => (rest, ""),
            };
            let (host, port) = split_host_port(authority).ok_or_else(|| invalid("needs host:port"))?;
            if host.is_empty() || port == 0 {
                return Err(invalid("needs host:port"));
            }
            return Ok(Target::Http { authority: authority.to_owned(), prefix: prefix.to_owned() });
        }
        if let Some(rest) = s.strip_prefix("mqtt://") {
            let rest = rest.trim_end_matches('/');
            let (host, port) = split_host_port(rest).ok_or_else(|| invalid("needs host:port"))?;
            if host.is_empty() || port == 0 || rest.contains('/') {
                return Err(invalid("needs host:port and no path"));
            }
            return Ok(Target::Mqtt { host: host.to_owned(), port });
        }
        if s.starts_with("https://") || s.starts_with("mqtts://") {
            return Err(invalid("TLS is not built in: put a local TLS proxy (stunnel, nginx) in front"));
        }
        Err(invalid("unknown scheme"))
    }
}

fn split_host_port(s: &str) -> Option<(&str, u16)> {
    let (host, port) = s.rsplit_once(':')?;
    Some((host, port.parse().ok()?))
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Http { authority, prefix } => write!(f, "http://{authority}{prefix}"),
            Target::Mqtt { host, port } => write!(f, "mqtt://{host}:{port}"),
            Target::Stdout => f.write_str("-"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_form() {
        assert_eq!(
            "http://127.0.0.1:8080".parse::<Target>().unwrap(),
            Target::Http { authority: "127.0.0.1:8080".into(), prefix: String::new() }
        );
        assert_eq!(
            "http://hub.local:80/vigie/".parse::<Target>().unwrap(),
            Target::Http { authority: "hub.local:80".into(), prefix: "/vigie".into() }
        );
        assert_eq!(
            "mqtt://10.0.0.2:1883".parse::<Target>().unwrap(),
            Target::Mqtt { host: "10.0.0.2".into(), port: 1883 }
        );
        assert_eq!("-".parse::<Target>().unwrap(), Target::Stdout);
        assert_eq!("http://hub.local:80/vigie".parse::<Target>().unwrap().to_string(), "http://hub.local:80/vigie");
    }

    #[test]
    fn rejects_what_it_cannot_reach() {
        for bad in [
            "",
            "hub:8080",
            "http://hub",
            "http://:80",
            "mqtt://hub",
            "mqtt://hub:1883/x",
            "https://hub:443",
            "ftp://x:1",
        ] {
            let err = bad.parse::<Target>().unwrap_err().to_string();
            assert!(err.contains("invalid target"), "{bad}: {err}");
        }
        assert!("https://h:1".parse::<Target>().unwrap_err().to_string().contains("TLS"));
    }
}
