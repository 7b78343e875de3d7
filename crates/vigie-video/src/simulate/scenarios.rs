//! One synthetic scenario per rule: true events and look-alikes that must not fire, and the
//! camera config that goes with the scene. Every scene also runs `video.tamper`, which must
//! stay silent outside the tamper scene.

use chrono::{DateTime, Utc};
use vigie_model::Kind;

use super::scene::{Carry, Effect, FireSpec, Pose, Prop, Rng, SceneSpec, Walker};
use super::score::TruthEvent;

/// Where the simulated cameras stand (Nantes, Place du Bouffay).
pub const CAMERA_LON: f64 = -1.5536;
pub const CAMERA_LAT: f64 = 47.2150;

/// Clothes far from the pavement's grey in luma (dark blue, black, dark green, white, purple).
pub const CLOTHES: [[u8; 3]; 5] = [[15, 20, 60], [20, 20, 25], [10, 50, 20], [240, 240, 240], [45, 10, 55]];
const BAG: [u8; 3] = [70, 40, 15];
const ORANGE: [u8; 3] = [250, 140, 30];
/// The colour the tests' small ONNX model is trained… built to see as a weapon.
pub const WEAPON_MAGENTA: [u8; 3] = [230, 20, 230];

#[derive(Debug, Clone)]
pub struct Scenario {
    pub kind: Kind,
    pub spec: SceneSpec,
    pub truth: Vec<TruthEvent>,
    zones: Vec<(String, &'static str, [f64; 4], Option<f64>)>,
    rules_toml: String,
}

impl Scenario {
    /// Time of the first frame (the scene's files are read with this start time).
    pub fn start() -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_795_375_800, 0).unwrap_or_default()
    }

    pub fn camera_id(&self) -> String {
        format!("cam-sim-{}", self.spec.name)
    }

    /// A relative image polygon of a ground rectangle `[east0, north0, east1, north1]`.
    fn rect_points(&self, r: [f64; 4]) -> String {
        let s = &self.spec;
        let p = |e: f64, n: f64| format!("[{:.5}, {:.5}]", e / s.ground_w_m, 1.0 - n / s.ground_h_m);
        format!("[{}, {}, {}, {}]", p(r[0], r[1]), p(r[2], r[1]), p(r[2], r[3]), p(r[0], r[3]))
    }

    /// The camera's config for the encoded scene at `url`; `extra` goes inside the camera
    /// table (e.g. a `[cameras.detector]` section, or masks).
    pub fn config_toml(&self, url: &str, extra_keys: &str, extra_tables: &str) -> String {
        let analytics = if self.kind == Kind::VideoTamper {
            "\"video.tamper\"".to_string()
        } else {
            format!("\"{}\", \"video.tamper\"", self.kind)
        };
        let mut zones = String::new();
        for (name, kind, r, dir) in &self.zones {
            let d = dir.map(|d| format!(", direction_deg = {d}")).unwrap_or_default();
            zones.push_str(&format!(
                "  {{ name = \"{name}\", kind = \"{kind}\", points = {}{d} }},\n",
                self.rect_points(*r)
            ));
        }
        format!(
            "[[cameras]]\nid = \"{}\"\nurl = \"{}\"\nlon = {CAMERA_LON}\nlat = {CAMERA_LAT}\nanalytics = [{analytics}]\ndetect_width_px = 320\ndetect_height_px = 180\nlocation_uncertainty_m = 3.0\n{extra_keys}\nzones = [\n{zones}]\n{}\n{}\n{extra_tables}\n",
            self.camera_id(),
            url.replace('\\', "\\\\").replace('"', "\\\""),
            self.spec.calibration_toml(),
            self.rules_toml
        )
    }
}

fn walker(path: Vec<(f64, f64, f64)>, i: usize) -> Walker {
    Walker::new(path, CLOTHES[i % CLOTHES.len()])
}

/// The scenario of one rule.
pub fn scenario(kind: Kind, seed: u64) -> Scenario {
    let mut s = Scenario {
        kind,
        spec: SceneSpec::new(kind.as_str().trim_start_matches("video."), 640, 360, 60.0, seed),
        truth: Vec::new(),
        zones: Vec::new(),
        rules_toml: String::new(),
    };
    let k = kind;
    let sp = &mut s.spec;
    match kind {
        Kind::VideoIntrusion => {
            sp.duration_secs = 48.0;
            s.zones.push(("voie".into(), "forbidden", [12.0, 6.0, 20.0, 12.0], None));
            // Crosses the zone west → east at 2.8 m/s (inside 5.6–8.4 s).
            sp.walkers.push(walker(vec![(2.0, 2.0, 9.0), (12.0, 30.0, 9.0)], 0));
            s.truth.push(TruthEvent::new(k, 5.0, 9.5).at(13.0, 9.0));
            // Passes north of it.
            sp.walkers.push(walker(vec![(4.0, 2.0, 15.0), (14.0, 30.0, 15.0)], 1));
            // Crosses it south → north (inside 17.75–22.25 s).
            sp.walkers.push(walker(vec![(14.0, 16.0, 1.0), (26.0, 16.0, 17.0)], 2));
            s.truth.push(TruthEvent::new(k, 17.0, 23.0).at(16.0, 7.0));
            // Passes south of it.
            sp.walkers.push(walker(vec![(16.0, 2.0, 3.0), (28.0, 30.0, 3.0)], 3));
            // Enters and stays (from 32.6 s).
            sp.walkers.push(walker(vec![(28.0, 30.0, 8.0), (34.0, 17.0, 8.0), (44.0, 17.0, 8.0)], 4));
            s.truth.push(TruthEvent::new(k, 32.0, 40.0).at(19.0, 8.0));
            // Walks along its southern edge: body over the zone in the image, feet outside.
            sp.walkers.push(walker(vec![(30.0, 10.0, 4.6), (42.0, 22.0, 4.6)], 0));
        }
        Kind::VideoWrongWay => {
            sp.duration_secs = 50.0;
            s.zones.push(("sens-unique".into(), "one_way", [0.0, 5.0, 32.0, 13.0], Some(90.0)));
            sp.walkers.push(walker(vec![(2.0, 1.0, 7.0), (14.0, 31.0, 7.0)], 0));
            sp.walkers.push(walker(vec![(4.0, 31.0, 11.0), (16.0, 1.0, 11.0)], 1));
            s.truth.push(TruthEvent::new(k, 5.0, 16.0));
            sp.walkers.push(walker(vec![(16.0, 1.0, 9.0), (28.0, 31.0, 9.0)], 2));
            sp.walkers.push(walker(vec![(18.0, 31.0, 6.0), (30.0, 1.0, 6.0)], 3));
            s.truth.push(TruthEvent::new(k, 19.0, 30.0));
            // Crossing the one-way street (north) is not against it.
            sp.walkers.push(walker(vec![(30.0, 10.0, 5.2), (36.0, 10.0, 12.8)], 4));
            sp.walkers.push(walker(vec![(34.0, 31.0, 10.0), (46.0, 1.0, 10.0)], 0));
            s.truth.push(TruthEvent::new(k, 35.0, 46.0));
        }
        Kind::VideoAbandonedObject => {
            sp.duration_secs = 76.0;
            let bag =
                |drop: f64, pick: Option<f64>| Carry { w_m: 0.5, h_m: 0.4, rgb: BAG, drop_t: Some(drop), pick_t: pick };
            // Puts a bag down at 6 s and walks off west.
            let mut w = walker(vec![(1.0, 2.0, 4.0), (5.0, 10.0, 4.0), (7.0, 10.0, 4.0), (11.0, 1.0, 4.0)], 0);
            w.carry = Some(bag(6.0, None));
            sp.walkers.push(w);
            s.truth.push(TruthEvent::new(k, 12.0, 26.0).at(10.6, 4.0));
            // Same, later, elsewhere.
            let mut w = walker(vec![(20.0, 30.0, 14.0), (24.0, 22.0, 14.0), (26.5, 22.0, 14.0), (30.0, 12.0, 14.0)], 1);
            w.carry = Some(bag(26.0, None));
            sp.walkers.push(w);
            s.truth.push(TruthEvent::new(k, 31.0, 46.0).at(22.6, 14.0));
            // Puts it down, stays beside it, picks it up again.
            let mut w = walker(vec![(34.0, 2.0, 10.0), (37.0, 8.0, 10.0), (46.0, 8.0, 10.0), (49.0, 1.0, 10.0)], 2);
            w.carry = Some(bag(38.0, Some(45.0)));
            sp.walkers.push(w);
            // Puts it down, steps aside to chat (1.8 m away), comes back for it.
            let mut w = walker(
                vec![
                    (50.0, 26.0, 8.0),
                    (52.5, 20.0, 8.0),
                    (53.5, 18.8, 8.0),
                    (63.0, 18.8, 8.0),
                    (64.0, 20.0, 8.0),
                    (70.0, 2.0, 8.0),
                ],
                3,
            );
            w.carry = Some(bag(52.5, Some(64.2)));
            sp.walkers.push(w);
            // A crate that appears with nobody carrying it (a delivery parked by a wall).
            sp.props.push(Prop {
                east_m: 28.0,
                north_m: 16.0,
                w_m: 0.8,
                h_m: 0.6,
                rgb: [60, 60, 90],
                t0: 30.0,
                t1: 76.0,
            });
            // A third drop near the end.
            let mut w = walker(vec![(55.0, 31.0, 2.0), (57.0, 25.0, 2.0), (58.5, 25.0, 2.0), (61.0, 25.0, 9.0)], 4);
            w.carry = Some(bag(58.0, None));
            sp.walkers.push(w);
            s.truth.push(TruthEvent::new(k, 62.0, 76.0).at(25.6, 2.0));
        }
        Kind::VideoCrowdDensity => {
            sp.duration_secs = 90.0;
            let zone = [8.0, 4.0, 24.0, 10.0];
            s.zones.push(("parvis".into(), "crowd", zone, None));
            s.rules_toml =
                "[cameras.rules.crowd_density]\nmax_persons_per_m2 = 0.35\noccupied_m2_per_person = 1.0\n".into();
            let mut rng = Rng::new(seed ^ 0xC0);
            let mut mill = |sp: &mut SceneSpec, t0: f64, t1: f64, n: usize| {
                for i in 0..n {
                    let (x, y) = (rng.range(zone[0] + 0.4, zone[2] - 0.4), rng.range(zone[1] + 0.1, zone[3] - 0.3));
                    let a = rng.range(0.0, std::f64::consts::TAU);
                    let d = 0.3 * (t1 - t0);
                    let (x1, y1) =
                        ((x + d * a.cos()).clamp(zone[0], zone[2]), (y + d * a.sin()).clamp(zone[1], zone[3] - 0.2));
                    let start = t0 + rng.range(0.0, 2.0);
                    sp.walkers.push(walker(vec![(start, x, y), (t1, x1, y1)], i));
                }
            };
            // A few people all along; a crowd twice.
            mill(sp, 0.0, 90.0, 10);
            mill(sp, 20.0, 40.0, 50);
            s.truth.push(TruthEvent::new(k, 20.0, 40.0));
            mill(sp, 60.0, 80.0, 50);
            s.truth.push(TruthEvent::new(k, 60.0, 80.0));
        }
        Kind::VideoCrowdMovement => {
            sp.duration_secs = 66.0;
            s.zones.push(("place".into(), "crowd", [1.0, 1.0, 31.0, 17.0], None));
            // Eight people standing in a ring, then running outward (a scatter).
            let ring =
                |sp: &mut SceneSpec, cx: f64, cy: f64, r: f64, n: usize, t0: f64, t_run: f64, dir: Option<f64>| {
                    for i in 0..n {
                        let a = i as f64 / n as f64 * std::f64::consts::TAU;
                        let (x, y) = (cx + r * a.cos(), cy + r * a.sin());
                        let run = 10.0;
                        let (dx, dy) = match dir {
                            Some(d) => (run * d.to_radians().sin(), run * d.to_radians().cos()),
                            None => (run * a.cos(), run * a.sin()),
                        };
                        let sway = 0.2 * ((i % 2) as f64 * 2.0 - 1.0);
                        sp.walkers.push(walker(
                            vec![(t0, x, y), (t_run, x + sway, y), (t_run + 2.5, x + sway + dx, y + dy)],
                            i,
                        ));
                    }
                };
            ring(sp, 10.0, 9.0, 3.5, 8, 1.0, 12.0, None);
            s.truth.push(TruthEvent::new(k, 12.0, 16.0));
            // A group walking east together at 1.3 m/s: collective, not sudden.
            for i in 0..8 {
                let (x, y) = (4.0 + 2.0 * (i % 4) as f64, 6.0 + 2.2 * (i / 4) as f64 * 2.0);
                sp.walkers.push(walker(vec![(18.0, x, y), (30.0, x + 15.6, y)], i));
            }
            // One person running alone.
            sp.walkers.push(walker(vec![(32.0, 2.0, 14.0), (38.0, 29.0, 14.0)], 1));
            // Six people fleeing the same way (east).
            ring(sp, 20.0, 9.0, 3.0, 6, 40.0, 50.0, Some(90.0));
            s.truth.push(TruthEvent::new(k, 50.0, 54.0));
        }
        Kind::VideoFire => {
            sp.duration_secs = 60.0;
            sp.fires.push(FireSpec { east_m: 8.0, north_m: 6.0, r0_m: 0.3, r1_m: 0.8, t0: 5.0, t1: 25.0 });
            s.truth.push(TruthEvent::new(k, 5.0, 25.0).at(8.0, 6.0));
            sp.fires.push(FireSpec { east_m: 24.0, north_m: 12.0, r0_m: 0.4, r1_m: 0.9, t0: 35.0, t1: 55.0 });
            s.truth.push(TruthEvent::new(k, 35.0, 55.0).at(24.0, 12.0));
            // An orange sign put up at 10 s; a person in an orange coat walking, one standing.
            sp.props.push(Prop { east_m: 16.0, north_m: 15.0, w_m: 0.9, h_m: 0.9, rgb: ORANGE, t0: 10.0, t1: 60.0 });
            sp.walkers.push(Walker::new(vec![(28.0, 1.0, 3.0), (40.0, 31.0, 3.0)], [240, 120, 20]));
            sp.walkers.push(Walker::new(
                vec![(42.0, 2.0, 9.0), (45.0, 6.0, 9.0), (53.0, 6.0, 9.0), (56.0, 1.0, 9.0)],
                [240, 130, 25],
            ));
        }
        Kind::VideoPersonDown => {
            sp.duration_secs = 60.0;
            let mut w = walker(vec![(1.0, 2.0, 5.0), (6.0, 12.0, 5.0), (20.0, 12.0, 5.0)], 0);
            w.poses.push((6.0, Pose::Lying));
            sp.walkers.push(w);
            s.truth.push(TruthEvent::new(k, 6.0, 20.0).at(12.0, 5.0));
            // Crouches for three seconds to tie a lace.
            let mut w = walker(vec![(3.0, 30.0, 12.0), (8.0, 20.0, 12.0), (11.0, 20.0, 12.0), (16.0, 10.0, 12.0)], 1);
            w.poses.extend([(8.0, Pose::Crouching), (11.0, Pose::Standing)]);
            sp.walkers.push(w);
            // Two people meet and stand side by side.
            sp.walkers.push(walker(vec![(18.0, 4.0, 9.0), (22.0, 15.7, 9.0), (32.0, 15.7, 9.0), (36.0, 4.0, 9.0)], 2));
            sp.walkers
                .push(walker(vec![(18.0, 28.0, 9.0), (22.0, 16.35, 9.0), (32.0, 16.35, 9.0), (36.0, 28.0, 9.0)], 3));
            let mut w = walker(vec![(24.0, 28.0, 3.0), (27.0, 22.0, 3.0), (40.0, 22.0, 3.0)], 4);
            w.poses.push((27.0, Pose::Lying));
            sp.walkers.push(w);
            s.truth.push(TruthEvent::new(k, 27.0, 40.0).at(22.0, 3.0));
            let mut w = walker(vec![(40.0, 5.0, 14.0), (44.0, 12.0, 14.0), (58.0, 12.0, 14.0)], 0);
            w.poses.push((44.0, Pose::Lying));
            sp.walkers.push(w);
            s.truth.push(TruthEvent::new(k, 44.0, 58.0).at(12.0, 14.0));
        }
        Kind::VideoWeapon => {
            sp.duration_secs = 50.0;
            for i in 0..6 {
                let t0 = 2.0 + 7.5 * i as f64;
                let y = 4.0 + 2.0 * (i % 5) as f64;
                let mut w = walker(vec![(t0, 2.0, y), (t0 + 7.0, 30.0, y)], i);
                if i % 2 == 0 {
                    w.holds = Some((0.9, 0.35, WEAPON_MAGENTA));
                    s.truth.push(TruthEvent::new(k, t0, t0 + 7.0));
                } else {
                    w.carry = Some(Carry { w_m: 0.5, h_m: 0.4, rgb: BAG, drop_t: None, pick_t: None });
                }
                sp.walkers.push(w);
            }
            // A magenta poster on a wall: not moving, so never sent to the detector.
            sp.props.push(Prop {
                east_m: 26.0,
                north_m: 16.0,
                w_m: 1.0,
                h_m: 0.5,
                rgb: WEAPON_MAGENTA,
                t0: 0.0,
                t1: 50.0,
            });
        }
        Kind::VideoTamper => {
            sp.duration_secs = 80.0;
            for i in 0..8 {
                let t0 = 1.0 + 9.0 * i as f64;
                sp.walkers.push(walker(vec![(t0, 1.0, 3.0 + i as f64), (t0 + 10.0, 31.0, 3.0 + i as f64)], i));
            }
            sp.effects.push(Effect::Cover { t0: 10.0, t1: 16.0 });
            s.truth.push(TruthEvent::new(k, 10.0, 16.0));
            sp.effects.push(Effect::Brighten { t0: 20.0, t1: 25.0, delta: 30.0 });
            sp.effects.push(Effect::Defocus { t0: 30.0, t1: 38.0 });
            s.truth.push(TruthEvent::new(k, 30.0, 38.0));
            sp.effects.push(Effect::Shift { t0: 50.0, dx_px: 90, dy_px: 40 });
            s.truth.push(TruthEvent::new(k, 50.0, 56.0));
        }
        _ => {}
    }
    if seed != 1 {
        vary(&mut s, seed);
    }
    s
}

/// Seeds other than 1 vary the scene: each walker (path, drops and all) moves by up to
/// ±0.4 m, clothes change colour, sensor noise is 2–5 levels. True events move with their
/// walker; tolerances in the scoring are wider than the shifts.
fn vary(s: &mut Scenario, seed: u64) {
    let mut rng = Rng::new(seed ^ 0x5EED);
    s.spec.noise = 2 + (rng.next_u64() % 4) as u8;
    let rotate = rng.next_u64() as usize;
    for (i, w) in s.spec.walkers.iter_mut().enumerate() {
        let (dx, dy) = (rng.range(-0.4, 0.4), rng.range(-0.4, 0.4));
        for p in &mut w.path {
            p.1 += dx;
            p.2 += dy;
        }
        if let Some(c) = CLOTHES.iter().position(|c| *c == w.rgb) {
            w.rgb = CLOTHES[(c + rotate + i) % CLOTHES.len()];
        }
    }
}

/// Every rule that has a scenario, in the contract's order.
pub const RULES: [Kind; 9] = [
    Kind::VideoIntrusion,
    Kind::VideoWrongWay,
    Kind::VideoAbandonedObject,
    Kind::VideoCrowdDensity,
    Kind::VideoCrowdMovement,
    Kind::VideoFire,
    Kind::VideoPersonDown,
    Kind::VideoWeapon,
    Kind::VideoTamper,
];
