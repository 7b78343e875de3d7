//! The bundled demo city (centre of Nantes) and its replay: realistic detections published
//! over MQTT as real edge devices would, with correlated scenarios so incidents form
//! within seconds of `vigie up --demo`, and a drone whose telemetry moves it on the map.

mod accounts;
mod flight;
mod scenarios;

use std::path::{Path, PathBuf};

pub use accounts::{DEMO_TOKEN, DemoAccount, install_accounts};
pub use scenarios::{Replay, ReplayStats, XorShift};

/// The demo's files, written into the data folder so that a user can read and edit them.
pub const FILES: &[(&str, &str)] = &[
    ("vigie.toml", include_str!("../../../../demo/nantes/vigie.toml")),
    ("districts.geojson", include_str!("../../../../demo/nantes/districts.geojson")),
    ("streets.geojson", include_str!("../../../../demo/nantes/streets.geojson")),
    ("places.geojson", include_str!("../../../../demo/nantes/places.geojson")),
    ("social.toml", include_str!("../../../../demo/nantes/social.toml")),
    ("gazetteer-aliases.toml", include_str!("../../../../demo/nantes/gazetteer-aliases.toml")),
    ("README.md", include_str!("../../../../demo/nantes/README.md")),
];

/// Writes the demo files into `dir` (replacing older copies); returns the config's path.
pub fn install(dir: &Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    for (name, text) in FILES {
        std::fs::write(dir.join(name), text)?;
    }
    Ok(dir.join("vigie.toml"))
}

#[cfg(test)]
mod tests {
    use vigie_model::config::Config;
    use vigie_model::{Kind, SensorType};

    #[test]
    fn the_demo_config_is_valid_and_covers_every_kind() {
        let dir = std::env::temp_dir().join(format!("vigie-demo-test-{}", std::process::id()));
        let path = super::install(&dir).unwrap();
        let cfg = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
        std::fs::remove_dir_all(&dir).ok();
        assert!(cfg.sensors.len() >= 50, "{} sensors", cfg.sensors.len());
        assert!(cfg.districts.len() >= 8);
        for t in
            [SensorType::Camera, SensorType::Microphone, SensorType::Flows, SensorType::Social, SensorType::Citizen]
        {
            assert!(cfg.sensors.iter().any(|s| s.sensor_type == t), "no {t:?}");
        }
        for k in Kind::ALL.iter().filter(|k| **k != Kind::SystemSensorOffline) {
            assert!(cfg.sensors.iter().any(|s| s.runs(*k)), "no sensor runs {k}");
        }
        assert!(cfg.sensors.iter().all(|s| s.district.is_some()), "every demo sensor lies in a district");
        assert!(cfg.sensors.iter().any(|s| s.mobile && s.field_of_view.is_some()), "a mobile camera flies");
    }
}
