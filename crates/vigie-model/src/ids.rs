//! Identifiers: sensors (chosen by integrators), detections and incidents (ULIDs).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("sensor id {0:?} must match ^[a-z0-9][a-z0-9._-]{{0,63}}$")]
    Sensor(String),
    #[error("{0:?} is not a ULID (26 Crockford base32 characters)")]
    Ulid(String),
}

/// A sensor identifier such as `cam-commerce-03`: lowercase, safe in MQTT topics, URLs and file names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct SensorId(String);

impl SensorId {
    pub fn new(s: impl Into<String>) -> Result<Self, IdError> {
        let s = s.into();
        if is_valid_sensor_id(&s) { Ok(SensorId(s)) } else { Err(IdError::Sensor(s)) }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `^[a-z0-9][a-z0-9._-]{0,63}$`, as in the JSON Schema.
pub fn is_valid_sensor_id(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'.' | b'_' | b'-'))
}

impl fmt::Display for SensorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for SensorId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        SensorId::new(s)
    }
}

impl<'de> Deserialize<'de> for SensorId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        SensorId::new(s).map_err(serde::de::Error::custom)
    }
}

/// `^[0-7][0-9A-HJKMNP-TV-Z]{25}$` case-insensitively, as in the JSON Schema.
fn is_valid_ulid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 26
        && (b'0'..=b'7').contains(&b[0])
        && b.iter().all(|c| {
            let c = c.to_ascii_uppercase();
            c.is_ascii_digit() || (c.is_ascii_uppercase() && !matches!(c, b'I' | b'L' | b'O' | b'U'))
        })
}

macro_rules! ulid_id {
    ($name:ident, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub ulid::Ulid);

        impl $name {
            pub fn parse(s: &str) -> Result<Self, IdError> {
                if !is_valid_ulid(s) {
                    return Err(IdError::Ulid(s.to_owned()));
                }
                ulid::Ulid::from_string(&s.to_ascii_uppercase()).map($name).map_err(|_| IdError::Ulid(s.to_owned()))
            }
            pub fn generate() -> Self {
                $name(ulid::Ulid::new())
            }
            /// Milliseconds since the epoch encoded in the ULID.
            pub fn timestamp_ms(&self) -> u64 {
                self.0.timestamp_ms()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                $name::parse(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0.to_string())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                $name::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

ulid_id!(DetectionId, "A detection's ULID, made by its producer: the idempotency key.");
ulid_id!(IncidentId, "An incident's ULID, made by the hub.");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_sensor_ids() {
        for bad in ["", "Cam-1", "-cam", "cam 1", "cam/1", "cam+", &"a".repeat(65)] {
            assert!(SensorId::new(bad).is_err(), "{bad:?} should be refused");
        }
        for good in ["cam-commerce-03", "mic.bouffay_2", "0", &"a".repeat(64)] {
            assert!(SensorId::new(good).is_ok(), "{good:?} should be accepted");
        }
    }

    #[test]
    fn ulid_round_trip_and_case() {
        let id = DetectionId::generate();
        let s = id.to_string();
        assert_eq!(DetectionId::parse(&s).unwrap(), id);
        assert_eq!(DetectionId::parse(&s.to_ascii_lowercase()).unwrap(), id);
        assert!(DetectionId::parse("8ZZZZZZZZZZZZZZZZZZZZZZZZZ").is_err(), "overflowing timestamp");
        assert!(DetectionId::parse("01JDQ8M6N4X2V6Z7Y8W9A0B1CU").is_err(), "U is not Crockford");
        assert!(DetectionId::parse("01JDQ8M6N4").is_err());
    }
}
