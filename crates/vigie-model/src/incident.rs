//! Incidents: detections correlated in space and time, handled by operators.
//!
//! States follow the alarm-management convention of supervision software:
//! new → acknowledged → in progress → resolved → closed. Every change is an
//! [`IncidentEvent`] so the full history is kept.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{IncidentId, SensorId};
use crate::kind::Kind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Critical,
    High,
    Medium,
    Low,
}

impl Priority {
    pub const ALL: &'static [Priority] = &[Priority::Critical, Priority::High, Priority::Medium, Priority::Low];
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Critical => "critical",
            Priority::High => "high",
            Priority::Medium => "medium",
            Priority::Low => "low",
        }
    }
    /// 1 is the most urgent; used for sorting and storage.
    pub fn rank(self) -> u8 {
        self as u8 + 1
    }
    pub fn from_rank(r: u8) -> Option<Priority> {
        Priority::ALL.get(usize::from(r).checked_sub(1)?).copied()
    }
    /// One step more urgent (escalation); critical stays critical.
    pub fn raised(self) -> Priority {
        Priority::from_rank(self.rank().saturating_sub(1).max(1)).unwrap_or(Priority::Critical)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentState {
    New,
    Acknowledged,
    InProgress,
    Resolved,
    Closed,
}

impl IncidentState {
    pub const ALL: &'static [IncidentState] = &[
        IncidentState::New,
        IncidentState::Acknowledged,
        IncidentState::InProgress,
        IncidentState::Resolved,
        IncidentState::Closed,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentState::New => "new",
            IncidentState::Acknowledged => "acknowledged",
            IncidentState::InProgress => "in_progress",
            IncidentState::Resolved => "resolved",
            IncidentState::Closed => "closed",
        }
    }
    /// Open incidents still take new detections.
    pub fn is_open(self) -> bool {
        matches!(self, IncidentState::New | IncidentState::Acknowledged | IncidentState::InProgress)
    }
}

impl FromStr for IncidentState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        IncidentState::ALL.iter().copied().find(|st| st.as_str() == s).ok_or_else(|| format!("unknown state {s:?}"))
    }
}

impl fmt::Display for IncidentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an operator closed the loop: this is what measures each analytic's precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Confirmed,
    FalseAlarm,
    Unverifiable,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Confirmed => "confirmed",
            Outcome::FalseAlarm => "false_alarm",
            Outcome::Unverifiable => "unverifiable",
        }
    }
}

impl FromStr for Outcome {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        [Outcome::Confirmed, Outcome::FalseAlarm, Outcome::Unverifiable]
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| format!("unknown outcome {s:?}"))
    }
}

/// What an operator (or the hub) does to an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum IncidentAction {
    Acknowledge,
    Start,
    Resolve { outcome: Outcome },
    Close,
    Reopen,
    Assign { assignee: String },
    Escalate,
    Note { text: String },
}

impl IncidentAction {
    pub fn name(&self) -> &'static str {
        match self {
            IncidentAction::Acknowledge => "acknowledge",
            IncidentAction::Start => "start",
            IncidentAction::Resolve { .. } => "resolve",
            IncidentAction::Close => "close",
            IncidentAction::Reopen => "reopen",
            IncidentAction::Assign { .. } => "assign",
            IncidentAction::Escalate => "escalate",
            IncidentAction::Note { .. } => "note",
        }
    }
}

/// An action that the state machine does not allow from the current state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("cannot {action} an incident that is {from}")]
    NotAllowed { action: &'static str, from: IncidentState },
    #[error("{0}")]
    Invalid(String),
}

/// An incident as shown to operators.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub id: IncidentId,
    pub rule: String,
    pub incident_type: String,
    pub title: String,
    pub priority: Priority,
    pub state: IncidentState,
    pub district: Option<String>,
    pub lon: f64,
    pub lat: f64,
    /// Radius around (lon, lat) that holds its detections, in metres.
    pub radius_m: f64,
    pub opened_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub detection_count: u32,
    pub sensors: Vec<SensorId>,
    pub kinds: Vec<Kind>,
    pub assignee: Option<String>,
    pub outcome: Option<Outcome>,
    /// Increases with every change; lets clients drop stale updates.
    pub version: u64,
}

impl Incident {
    /// Applies an operator's action; returns the event to append to its history.
    pub fn apply(
        &mut self,
        action: &IncidentAction,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<IncidentEvent, TransitionError> {
        use IncidentState as S;
        let from = self.state;
        let not_allowed = || TransitionError::NotAllowed { action: action.name(), from };
        let mut detail = serde_json::Value::Null;
        match action {
            IncidentAction::Acknowledge => {
                if from != S::New {
                    return Err(not_allowed());
                }
                self.state = S::Acknowledged;
            }
            IncidentAction::Start => {
                if !matches!(from, S::New | S::Acknowledged) {
                    return Err(not_allowed());
                }
                self.state = S::InProgress;
            }
            IncidentAction::Resolve { outcome } => {
                if !from.is_open() {
                    return Err(not_allowed());
                }
                self.state = S::Resolved;
                self.outcome = Some(*outcome);
                detail = serde_json::json!({ "outcome": outcome });
            }
            IncidentAction::Close => {
                if from != S::Resolved {
                    return Err(not_allowed());
                }
                self.state = S::Closed;
            }
            IncidentAction::Reopen => {
                if from != S::Resolved {
                    return Err(not_allowed());
                }
                self.state = S::InProgress;
                self.outcome = None;
            }
            IncidentAction::Assign { assignee } => {
                let assignee = assignee.trim();
                if assignee.is_empty() || assignee.chars().count() > 100 {
                    return Err(TransitionError::Invalid("assignee must be 1 to 100 characters".into()));
                }
                if from == S::Closed {
                    return Err(not_allowed());
                }
                self.assignee = Some(assignee.to_owned());
                detail = serde_json::json!({ "assignee": assignee });
            }
            IncidentAction::Escalate => {
                if !from.is_open() {
                    return Err(not_allowed());
                }
                let before = self.priority;
                self.priority = before.raised();
                detail = serde_json::json!({ "from": before, "to": self.priority });
            }
            IncidentAction::Note { text } => {
                let text = text.trim();
                if text.is_empty() || text.chars().count() > 4000 {
                    return Err(TransitionError::Invalid("a note must be 1 to 4000 characters".into()));
                }
                detail = serde_json::json!({ "text": text });
            }
        }
        self.updated_at = at;
        self.version += 1;
        Ok(IncidentEvent {
            incident: self.id,
            at,
            actor: actor.to_owned(),
            action: action.name().to_owned(),
            from_state: from,
            to_state: self.state,
            detail,
        })
    }
}

/// One line of an incident's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentEvent {
    pub incident: IncidentId,
    pub at: DateTime<Utc>,
    /// `hub` for automatic changes, else the operator's name.
    pub actor: String,
    /// `opened` and `upgraded` (by the hub), or an [`IncidentAction`] name.
    pub action: String,
    pub from_state: IncidentState,
    pub to_state: IncidentState,
    pub detail: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incident() -> Incident {
        let t = Utc::now();
        Incident {
            id: IncidentId::generate(),
            rule: "r".into(),
            incident_type: "t".into(),
            title: "x".into(),
            priority: Priority::Medium,
            state: IncidentState::New,
            district: None,
            lon: 0.0,
            lat: 0.0,
            radius_m: 0.0,
            opened_at: t,
            updated_at: t,
            first_seen: t,
            last_seen: t,
            detection_count: 1,
            sensors: vec![],
            kinds: vec![],
            assignee: None,
            outcome: None,
            version: 1,
        }
    }

    #[test]
    fn follows_the_alarm_lifecycle() {
        let mut i = incident();
        let now = Utc::now();
        i.apply(&IncidentAction::Acknowledge, "op", now).unwrap();
        i.apply(&IncidentAction::Start, "op", now).unwrap();
        let ev = i.apply(&IncidentAction::Resolve { outcome: Outcome::Confirmed }, "op", now).unwrap();
        assert_eq!((ev.from_state, ev.to_state), (IncidentState::InProgress, IncidentState::Resolved));
        i.apply(&IncidentAction::Close, "op", now).unwrap();
        assert_eq!(i.state, IncidentState::Closed);
        assert_eq!(i.outcome, Some(Outcome::Confirmed));
        assert_eq!(i.version, 5);
    }

    #[test]
    fn rejects_skipping_or_reversing_states() {
        let mut i = incident();
        let now = Utc::now();
        assert!(i.apply(&IncidentAction::Close, "op", now).is_err());
        assert!(i.apply(&IncidentAction::Reopen, "op", now).is_err());
        i.apply(&IncidentAction::Acknowledge, "op", now).unwrap();
        assert!(i.apply(&IncidentAction::Acknowledge, "op", now).is_err());
        i.apply(&IncidentAction::Resolve { outcome: Outcome::FalseAlarm }, "op", now).unwrap();
        assert!(i.apply(&IncidentAction::Escalate, "op", now).is_err());
        i.apply(&IncidentAction::Reopen, "op", now).unwrap();
        assert_eq!(i.outcome, None);
        assert!(i.apply(&IncidentAction::Note { text: "  ".into() }, "op", now).is_err());
    }

    #[test]
    fn escalation_raises_priority_up_to_critical() {
        let mut i = incident();
        let now = Utc::now();
        i.apply(&IncidentAction::Escalate, "op", now).unwrap();
        assert_eq!(i.priority, Priority::High);
        i.apply(&IncidentAction::Escalate, "op", now).unwrap();
        i.apply(&IncidentAction::Escalate, "op", now).unwrap();
        assert_eq!(i.priority, Priority::Critical);
    }

    #[test]
    fn actions_parse_from_json() {
        let a: IncidentAction = serde_json::from_str(r#"{"action":"resolve","outcome":"false_alarm"}"#).unwrap();
        assert_eq!(a, IncidentAction::Resolve { outcome: Outcome::FalseAlarm });
        assert!(serde_json::from_str::<IncidentAction>(r#"{"action":"resolve"}"#).is_err());
        assert!(serde_json::from_str::<IncidentAction>(r#"{"action":"delete"}"#).is_err());
    }
}
