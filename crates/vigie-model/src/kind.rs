//! The closed list of detection kinds of contract v1.
//!
//! The video kinds are the eight events French law allows algorithmic video analysis to
//! signal (décret n° 2023-828, art. 3) plus camera health. Nothing here identifies a person.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! kinds {
    ($($variant:ident => $name:literal),+ $(,)?) => {
        /// A namespaced detection kind such as `video.crowd_density`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Kind { $($variant),+ }

        impl Kind {
            pub const ALL: &'static [Kind] = &[$(Kind::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $(Kind::$variant => $name),+ }
            }
        }

        impl FromStr for Kind {
            type Err = UnknownKind;
            fn from_str(s: &str) -> Result<Self, UnknownKind> {
                match s { $($name => Ok(Kind::$variant),)+ _ => Err(UnknownKind(s.to_owned())) }
            }
        }
    };
}

kinds! {
    VideoAbandonedObject => "video.abandoned_object",
    VideoWeapon => "video.weapon",
    VideoWrongWay => "video.wrong_way",
    VideoIntrusion => "video.intrusion",
    VideoPersonDown => "video.person_down",
    VideoCrowdMovement => "video.crowd_movement",
    VideoCrowdDensity => "video.crowd_density",
    VideoFire => "video.fire",
    VideoTamper => "video.tamper",
    AudioGunshot => "audio.gunshot",
    AudioExplosion => "audio.explosion",
    AudioGlassBreak => "audio.glass_break",
    AudioScream => "audio.scream",
    AudioSiren => "audio.siren",
    AudioImpulse => "audio.impulse",
    FlowsPresenceAnomaly => "flows.presence_anomaly",
    FlowsFlowAnomaly => "flows.flow_anomaly",
    SocialBurst => "social.burst",
    SocialNegativeBuzz => "social.negative_buzz",
    CitizenReport => "citizen.report",
    SystemSensorOffline => "system.sensor_offline",
}

/// A kind outside contract v1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown kind {0:?}")]
pub struct UnknownKind(pub String);

impl Kind {
    /// The namespace before the dot: `video`, `audio`, `flows`, `social`, `citizen`, `system`.
    pub fn namespace(self) -> &'static str {
        let s = self.as_str();
        &s[..s.find('.').unwrap_or(s.len())]
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Kind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_and_is_in_the_schema() {
        let schema: serde_json::Value = serde_json::from_str(crate::DETECTION_SCHEMA_V1).unwrap();
        let listed: Vec<&str> =
            schema["properties"]["kind"]["enum"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert_eq!(listed.len(), Kind::ALL.len());
        for k in Kind::ALL {
            assert_eq!(k.as_str().parse::<Kind>().unwrap(), *k);
            assert!(listed.contains(&k.as_str()), "{k} missing from the schema");
        }
    }

    #[test]
    fn rejects_identifying_kinds() {
        // Property 1 of ARCHITECTURE.md: the contract has no way to carry an identification.
        for forbidden in ["video.face_match", "video.plate_read", "video.reid", "audio.speech"] {
            assert!(forbidden.parse::<Kind>().is_err());
        }
    }
}
