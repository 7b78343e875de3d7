//! [`Publisher`]: one per producer, whatever the transport.

use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

use serde::Deserialize;
use vigie_model::{Detection, DetectionId, Evidence, SensorId};

use crate::http;
use crate::mqtt::MqttLink;
use crate::{PublishError, Target, evidence_for};

/// A body of at most this many bytes per HTTP request (the hub takes up to 8 MiB).
const MAX_BATCH_BYTES: usize = 4 << 20;

/// How to reach the hub.
#[derive(Debug, Clone)]
pub struct PublisherConfig {
    pub target: Target,
    /// The device token the hub issued for this producer's sensors.
    pub token: Option<String>,
    /// MQTT client id (a stable name per producer: the broker keeps its session).
    pub client_id: String,
    /// Over MQTT: the sensor whose status becomes `offline` (retained) if this producer
    /// dies without saying goodbye. MQTT allows one last will per connection.
    pub last_will: Option<SensorId>,
    /// Where evidence files are uploaded when `target` is not HTTP (an `http://` hub).
    pub evidence_target: Option<Target>,
    /// How long one HTTP request may take, and the default wait of [`Publisher::flush`].
    pub timeout: Duration,
    /// HTTP attempts per batch before giving up (connection errors, 5xx, lines the hub
    /// could not store). Resending is safe: ids are idempotency keys.
    pub max_attempts: u32,
}

impl PublisherConfig {
    pub fn new(target: Target, client_id: impl Into<String>) -> Self {
        PublisherConfig {
            target,
            token: None,
            client_id: client_id.into(),
            last_will: None,
            evidence_target: None,
            timeout: Duration::from_secs(30),
            max_attempts: 5,
        }
    }

    pub fn token(mut self, token: Option<String>) -> Self {
        self.token = token.filter(|t| !t.is_empty());
        self
    }

    pub fn last_will(mut self, sensor: SensorId) -> Self {
        self.last_will = Some(sensor);
        self
    }
}

/// A sensor's health as published on `vigie/v1/status/{sensor}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SensorStatus {
    Online,
    Offline,
}

impl SensorStatus {
    fn as_str(self) -> &'static str {
        match self {
            SensorStatus::Online => "online",
            SensorStatus::Offline => "offline",
        }
    }
}

/// One detection the hub refused, with the contract's reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub id: DetectionId,
    pub reason: String,
    pub detail: String,
}

/// What became of a call to [`Publisher::publish`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishReport {
    /// Stored by the hub (HTTP).
    pub accepted: usize,
    /// Already stored before (HTTP): a resend.
    pub duplicate: usize,
    /// Refused by the hub's checks (HTTP), each with its reason.
    pub refused: Vec<Refused>,
    /// Handed over without a per-detection answer: queued for MQTT (confirmed by
    /// [`Publisher::flush`]) or written to standard output.
    pub queued: usize,
}

impl PublishReport {
    fn absorb(&mut self, other: PublishReport) {
        self.accepted += other.accepted;
        self.duplicate += other.duplicate;
        self.refused.extend(other.refused);
        self.queued += other.queued;
    }
}

enum Transport {
    Http { authority: String, prefix: String },
    Mqtt(Box<MqttLink>),
    Stdout,
}

/// Hands detections to the hub.
pub struct Publisher {
    config: PublisherConfig,
    transport: Transport,
}

#[derive(Deserialize)]
struct PostAnswer {
    results: Vec<LineAnswer>,
}

#[derive(Deserialize)]
struct LineAnswer {
    line: usize,
    status: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    detail: Option<String>,
}

impl Publisher {
    /// Builds the transport. Over MQTT the connection is made in the background (and
    /// remade after a loss); over HTTP each batch opens its own connection.
    pub fn connect(config: PublisherConfig) -> Result<Self, PublishError> {
        let transport = match &config.target {
            Target::Http { authority, prefix } => {
                Transport::Http { authority: authority.clone(), prefix: prefix.clone() }
            }
            Target::Mqtt { host, port } => Transport::Mqtt(Box::new(MqttLink::connect(
                host,
                *port,
                &config.client_id,
                config.token.as_deref(),
                config.last_will.as_ref().map(status_topic),
            ))),
            Target::Stdout => Transport::Stdout,
        };
        Ok(Publisher { config, transport })
    }

    pub fn target(&self) -> &Target {
        &self.config.target
    }

    /// Sends detections. Over HTTP this returns once the hub has committed them (or
    /// refused them, each with its reason); over MQTT once they are queued.
    pub fn publish(&mut self, detections: &[Detection]) -> Result<PublishReport, PublishError> {
        match &mut self.transport {
            Transport::Stdout => {
                let mut out = std::io::stdout().lock();
                for d in detections {
                    writeln!(out, "{}", d.to_json()).map_err(PublishError::Stdout)?;
                }
                out.flush().map_err(PublishError::Stdout)?;
                Ok(PublishReport { queued: detections.len(), ..PublishReport::default() })
            }
            Transport::Mqtt(link) => {
                for d in detections {
                    let topic = format!("vigie/v1/detections/{}", d.sensor.as_str());
                    link.publish(topic, d.to_json().into_bytes(), false)?;
                }
                Ok(PublishReport { queued: detections.len(), ..PublishReport::default() })
            }
            Transport::Http { authority, prefix } => {
                let (authority, prefix) = (authority.clone(), prefix.clone());
                let mut report = PublishReport::default();
                let mut start = 0;
                while start < detections.len() {
                    let mut end = start;
                    let mut bytes = 0;
                    let lines: Vec<String> = detections[start..]
                        .iter()
                        .map(Detection::to_json)
                        .take_while(|l| {
                            bytes += l.len() + 1;
                            let fits = end == start || bytes <= MAX_BATCH_BYTES;
                            if fits {
                                end += 1;
                            }
                            fits
                        })
                        .collect();
                    report.absorb(self.post_batch(&authority, &prefix, &detections[start..end], lines)?);
                    start = end;
                }
                Ok(report)
            }
        }
    }

    /// One NDJSON request, resent (only the lines not yet stored) until every line has a
    /// final answer or the attempts are spent.
    fn post_batch(
        &self,
        authority: &str,
        prefix: &str,
        batch: &[Detection],
        lines: Vec<String>,
    ) -> Result<PublishReport, PublishError> {
        let target = self.config.target.to_string();
        let path = format!("{prefix}/api/v1/detections");
        let bearer = self.config.token.as_ref().map(|t| format!("Bearer {t}"));
        let mut headers = vec![("Content-Type", "application/x-ndjson")];
        if let Some(b) = &bearer {
            headers.push(("Authorization", b.as_str()));
        }
        let mut pending: Vec<usize> = (0..batch.len()).collect();
        let mut report = PublishReport::default();
        let mut last_problem = String::new();
        for attempt in 0..self.config.max_attempts.max(1) {
            if attempt > 0 {
                thread::sleep(Duration::from_millis(200u64 << attempt.min(5)).min(Duration::from_secs(5)));
            }
            let mut body = String::new();
            for &i in &pending {
                body.push_str(&lines[i]);
                body.push('\n');
            }
            let answer = match http::request(authority, "POST", &path, &headers, body.as_bytes(), self.config.timeout) {
                Ok(a) => a,
                Err(detail) => {
                    tracing::warn!(%target, attempt, error = %detail, "posting detections failed; retrying");
                    last_problem = detail;
                    continue;
                }
            };
            let text = String::from_utf8_lossy(&answer.body).into_owned();
            match answer.status {
                200 | 503 => {}
                401 | 403 => return Err(PublishError::Unauthorized { target, status: answer.status, body: text }),
                502 | 504 => {
                    last_problem = format!("{} {text}", answer.status);
                    continue;
                }
                status => return Err(PublishError::Status { target, status, body: text }),
            }
            let parsed: PostAnswer = serde_json::from_str(&text).map_err(|e| PublishError::MalformedAnswer {
                target: target.clone(),
                detail: format!("{e}: {text}"),
            })?;
            let mut again = Vec::new();
            for line in parsed.results {
                let Some(&index) = line.line.checked_sub(1).and_then(|l| pending.get(l)) else {
                    return Err(PublishError::MalformedAnswer {
                        target,
                        detail: format!("a result for line {} of {}", line.line, pending.len()),
                    });
                };
                match line.status.as_str() {
                    "accepted" => report.accepted += 1,
                    "duplicate" => report.duplicate += 1,
                    "refused" => report.refused.push(Refused {
                        id: batch[index].id,
                        reason: line.reason.unwrap_or_default(),
                        detail: line.detail.unwrap_or_default(),
                    }),
                    _ => {
                        last_problem = line.detail.unwrap_or(line.status);
                        again.push(index);
                    }
                }
            }
            if again.is_empty() {
                return Ok(report);
            }
            pending = again;
        }
        Err(PublishError::Unreachable {
            target,
            detail: format!(
                "{} detection(s) not stored after {} attempts: {last_problem}",
                pending.len(),
                self.config.max_attempts.max(1)
            ),
        })
    }

    /// Publishes a sensor's health: retained on `vigie/v1/status/{sensor}` over MQTT, where
    /// the hub turns `offline` into a `system.sensor_offline` detection. Over HTTP and
    /// stdout there is no status channel; this does nothing.
    pub fn set_status(&mut self, sensor: &SensorId, status: SensorStatus) -> Result<(), PublishError> {
        if let Transport::Mqtt(link) = &mut self.transport {
            link.publish(status_topic(sensor), status.as_str().as_bytes().to_vec(), true)?;
        }
        Ok(())
    }

    /// Waits until everything published is confirmed: every PUBACK over MQTT (sent by the
    /// hub after its commit). Over HTTP and stdout, `publish` already waited.
    pub fn flush(&mut self, timeout: Duration) -> Result<(), PublishError> {
        match &mut self.transport {
            Transport::Mqtt(link) => link.flush(timeout),
            _ => Ok(()),
        }
    }

    /// Uploads an evidence file to the hub's evidence store and returns its reference,
    /// `evidence/<sha256>.<ext>`, to put in a detection's `evidence`. Send the file before
    /// the detection that cites it.
    pub fn upload_evidence(&self, media_type: &str, bytes: &[u8]) -> Result<Evidence, PublishError> {
        let evidence = evidence_for(media_type, bytes)?;
        let route = match (&self.config.target, &self.config.evidence_target) {
            (_, Some(Target::Http { authority, prefix })) | (Target::Http { authority, prefix }, None) => {
                (authority.clone(), prefix.clone())
            }
            (t, _) => return Err(PublishError::NoEvidenceRoute { target: t.to_string() }),
        };
        let (authority, prefix) = route;
        let target = format!("http://{authority}{prefix}");
        let path = format!("{prefix}/api/v1/evidence");
        let bearer = self.config.token.as_ref().map(|t| format!("Bearer {t}"));
        let mut headers = vec![("Content-Type", media_type)];
        if let Some(b) = &bearer {
            headers.push(("Authorization", b.as_str()));
        }
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = http::request(&authority, "POST", &path, &headers, bytes, self.config.timeout);
            let retry_detail = match result {
                Ok(a) if a.status == 200 || a.status == 201 => {
                    let answer: Evidence = serde_json::from_slice(&a.body)
                        .map_err(|e| PublishError::MalformedAnswer { target: target.clone(), detail: e.to_string() })?;
                    if answer != evidence {
                        return Err(PublishError::MalformedAnswer {
                            target,
                            detail: format!("the hub stored {answer:?}, expected {evidence:?}"),
                        });
                    }
                    return Ok(evidence);
                }
                Ok(a) if a.status == 401 || a.status == 403 => {
                    return Err(PublishError::Unauthorized {
                        target,
                        status: a.status,
                        body: String::from_utf8_lossy(&a.body).into_owned(),
                    });
                }
                Ok(a) if a.status >= 500 => format!("{} {}", a.status, String::from_utf8_lossy(&a.body)),
                Ok(a) => {
                    return Err(PublishError::Status {
                        target,
                        status: a.status,
                        body: String::from_utf8_lossy(&a.body).into_owned(),
                    });
                }
                Err(e) => e,
            };
            if attempt >= self.config.max_attempts.max(1) {
                return Err(PublishError::Unreachable {
                    target,
                    detail: format!("after {attempt} attempts in {:?}: {retry_detail}", started.elapsed()),
                });
            }
            thread::sleep(Duration::from_millis(200u64 << attempt.min(5)).min(Duration::from_secs(5)));
        }
    }
}

fn status_topic(sensor: &SensorId) -> String {
    format!("vigie/v1/status/{}", sensor.as_str())
}
