//! The people of the synthetic metropolis and their days: who lives where, works where,
//! and what each one does on a given day (a piecewise-linear path with its stays).

use crate::geo::polygon::Pt;
use crate::rng::{Rng, mix};

use super::world::{RING_ROAD_M, World};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Lives and works (mostly) in the territory.
    Worker,
    /// School or university near home.
    Student,
    /// Retired, at home, part-time: errands near home.
    Homebody,
    /// Lives in the region beyond the territory and stays there.
    Outsider,
    /// Lives beyond the territory, works in it.
    InCommuter,
    /// Comes from far away through a gateway, visits the centre.
    Tourist,
    /// Drives across the territory on the ring road.
    Through,
}

#[derive(Debug, Clone)]
pub struct Person {
    pub home: Pt,
    pub work: Pt,
    pub role: Role,
    /// IMSI of the operator's phone this person carries, if any.
    pub device: Option<i64>,
}

/// A planned gathering: where, when (seconds of the day), and who is likely to come.
#[derive(Debug, Clone)]
pub struct GatheringPlan {
    pub venue: Pt,
    pub start_s: u32,
    pub end_s: u32,
    /// Probability that a resident of the territory attends.
    pub attend: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stay {
    pub start: u32,
    pub end: u32,
    pub p: Pt,
}

/// One person's day: where they are at any second (piecewise linear between waypoints,
/// present only within `present`), and their stays.
#[derive(Debug, Clone, Default)]
pub struct DayPath {
    pub wps: Vec<(u32, Pt)>,
    pub present: (u32, u32),
    pub stays: Vec<Stay>,
    pub through: bool,
    pub attends: bool,
}

pub const DAY: u32 = 86_400;

impl DayPath {
    pub fn at(&self, t: u32) -> Option<Pt> {
        if t < self.present.0 || t >= self.present.1 || self.wps.is_empty() {
            return None;
        }
        let i = self.wps.partition_point(|w| w.0 <= t);
        if i == 0 {
            return Some(self.wps[0].1);
        }
        if i >= self.wps.len() {
            return Some(self.wps[self.wps.len() - 1].1);
        }
        let (t0, p0) = self.wps[i - 1];
        let (t1, p1) = self.wps[i];
        if t1 == t0 {
            return Some(p1);
        }
        let f = (t - t0) as f64 / (t1 - t0) as f64;
        Some((p0.0 + f * (p1.0 - p0.0), p0.1 + f * (p1.1 - p0.1)))
    }

    /// Whether the person is moving at `t` (between two distinct waypoints).
    pub fn moving(&self, t: u32) -> bool {
        let i = self.wps.partition_point(|w| w.0 <= t);
        i > 0 && i < self.wps.len() && self.wps[i - 1].1 != self.wps[i].1
    }
}

pub fn population(world: &World, n_people: usize, share: f64, seed: u64) -> Vec<Person> {
    let mut out = Vec::with_capacity(n_people + n_people / 20);
    let mut rng = Rng::new(mix(&[seed, 0x9e0]));
    let imsi = |rng: &mut Rng| -> Option<i64> {
        rng.chance(share).then(|| 208_010_000_000_000 + (rng.next_u64() % 10_000_000_000) as i64)
    };
    let inside_job = |rng: &mut Rng| {
        for _ in 0..50 {
            let p = world.sample_job(rng);
            if world.inside(p) {
                return p;
            }
        }
        world.sample_job(rng)
    };
    for _ in 0..n_people {
        let home = world.sample_home(&mut rng);
        let (role, work) = if world.inside(home) {
            let x = rng.f64();
            if x < 0.50 {
                (Role::Worker, if rng.chance(0.08) { world.sample_job(&mut rng) } else { inside_job(&mut rng) })
            } else if x < 0.72 {
                let a = rng.range(0.0, std::f64::consts::TAU);
                let r = rng.range(200.0, 1_800.0);
                (Role::Student, world.clamp((home.0 + r * a.cos(), home.1 + r * a.sin())))
            } else {
                (Role::Homebody, home)
            }
        } else if rng.chance(0.35) {
            (Role::InCommuter, inside_job(&mut rng))
        } else {
            (Role::Outsider, home)
        };
        let device = imsi(&mut rng);
        out.push(Person { home, work, role, device });
    }
    let extra = (n_people as f64 * 0.025) as usize;
    for _ in 0..extra {
        let g = world.gateways[rng.below(world.gateways.len())];
        let device = imsi(&mut rng);
        out.push(Person { home: g, work: g, role: Role::Tourist, device });
    }
    for _ in 0..extra {
        let a = rng.below(world.gateways.len());
        let b = (a + 2 + rng.below(world.gateways.len() - 3)) % world.gateways.len();
        let device = imsi(&mut rng);
        out.push(Person { home: world.gateways[a], work: world.gateways[b], role: Role::Through, device });
    }
    out
}

/// Travel time in seconds: walking for short hops, then city and main-road speeds.
fn travel_s(a: Pt, b: Pt) -> u32 {
    let d = ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt();
    let s = if d < 1_200.0 {
        d / 1.25
    } else if d < 8_000.0 {
        240.0 + d / 6.5
    } else {
        420.0 + d / 12.0
    };
    s as u32
}

struct Builder {
    path: DayPath,
    cur: Pt,
    t: u32,
}

impl Builder {
    fn start(p: Pt, t: u32) -> Self {
        Builder { path: DayPath { wps: vec![(t, p)], present: (t, DAY), ..Default::default() }, cur: p, t }
    }

    fn stay_until(&mut self, end: u32) {
        let end = end.min(DAY);
        if end > self.t {
            self.path.stays.push(Stay { start: self.t, end, p: self.cur });
            self.path.wps.push((end, self.cur));
            self.t = end;
        }
    }

    fn go(&mut self, to: Pt) {
        let dt = travel_s(self.cur, to);
        self.t = (self.t + dt).min(DAY);
        self.path.wps.push((self.t, to));
        self.cur = to;
    }

    fn go_via(&mut self, via: &[Pt], speed_mps: f64) {
        for &p in via {
            let d = ((self.cur.0 - p.0).powi(2) + (self.cur.1 - p.1).powi(2)).sqrt();
            self.t = (self.t + (d / speed_mps) as u32).min(DAY);
            self.path.wps.push((self.t, p));
            self.cur = p;
        }
    }

    fn leave(mut self) -> DayPath {
        self.path.present.1 = (self.t + 60).min(DAY);
        self.path
    }

    fn end(mut self) -> DayPath {
        self.stay_until(DAY);
        self.path
    }
}

fn hours(h: f64) -> u32 {
    (h * 3600.0).clamp(0.0, DAY as f64 - 1.0) as u32
}

fn near(world: &World, p: Pt, r: f64, rng: &mut Rng) -> Pt {
    let a = rng.range(0.0, std::f64::consts::TAU);
    let d = r * rng.f64().sqrt();
    world.clamp((p.0 + d * a.cos(), p.1 + d * a.sin()))
}

/// Plans `person`'s day `day_index` (weekend or not); every draw is seeded by
/// (seed, person, day), so a day can be re-planned identically.
pub fn plan_day(
    world: &World,
    person: &Person,
    index: usize,
    day_index: usize,
    weekend: bool,
    gathering: Option<&GatheringPlan>,
    seed: u64,
) -> DayPath {
    let mut rng = Rng::new(mix(&[seed, index as u64, day_index as u64, 0xDA7]));
    let attends = gathering.is_some_and(|g| {
        matches!(person.role, Role::Worker | Role::Student | Role::Homebody | Role::InCommuter) && rng.chance(g.attend)
    });
    let mut path = match person.role {
        Role::Worker | Role::InCommuter | Role::Student if !weekend => {
            let student = person.role == Role::Student;
            let mut b = Builder::start(person.home, 0);
            let leave = if student {
                hours(8.0 + 0.25 * rng.normal())
            } else {
                hours(8.0 + 0.7 * rng.normal()).clamp(hours(5.5), hours(10.5))
            };
            b.stay_until(leave);
            b.go(person.work);
            let end = if student {
                hours(16.5 + 0.5 * rng.normal())
            } else {
                hours(17.5 + 0.8 * rng.normal()).clamp(hours(14.0), hours(20.5))
            };
            if !student && rng.chance(0.15) {
                b.stay_until(hours(12.0 + 0.3 * rng.f64()));
                b.go(near(world, person.work, 700.0, &mut rng));
                b.stay_until(b.t + 2700 + (rng.f64() * 1800.0) as u32);
                b.go(person.work);
            }
            b.stay_until(end);
            evening(world, person, b, attends, gathering, &mut rng, 0.3)
        }
        Role::Worker | Role::InCommuter | Role::Student | Role::Homebody | Role::Outsider => {
            let mut b = Builder::start(person.home, 0);
            b.stay_until(hours(rng.range(9.0, 11.5)));
            let (p_out, r) = if weekend && person.role != Role::Outsider { (0.6, 0.0) } else { (0.7, 2_500.0) };
            if rng.chance(p_out) {
                let place = if r > 0.0 { near(world, person.home, r, &mut rng) } else { world.sample_job(&mut rng) };
                b.go(place);
                b.stay_until(b.t + 1800 + (rng.f64() * 7200.0) as u32);
                b.go(person.home);
            }
            b.stay_until(hours(rng.range(14.0, 16.5)));
            evening(world, person, b, attends, gathering, &mut rng, 0.4)
        }
        Role::Tourist => {
            if !rng.chance(if weekend { 0.9 } else { 0.6 }) {
                return DayPath::default();
            }
            let mut b = Builder::start(person.home, hours(rng.range(8.0, 11.0)));
            for _ in 0..3 {
                let spot = near(world, world.tourist_spots[rng.below(world.tourist_spots.len())], 250.0, &mut rng);
                b.go(spot);
                b.stay_until(b.t + 3600 + (rng.f64() * 3600.0) as u32);
            }
            if rng.chance(0.5) {
                b.go(near(world, world.tourist_spots[0], 900.0, &mut rng));
                b.end()
            } else {
                b.go(person.home);
                b.leave()
            }
        }
        Role::Through => {
            if !rng.chance(if weekend { 0.6 } else { 1.0 }) {
                return DayPath::default();
            }
            let x = rng.f64();
            let h = if x < 0.3 {
                rng.range(6.5, 9.5)
            } else if x < 0.6 {
                rng.range(16.0, 19.5)
            } else {
                rng.range(6.0, 21.5)
            };
            let mut b = Builder::start(person.home, hours(h));
            let c = crate::generate::world::CENTRE;
            let centre = world.zones.frame.to_xy(c.0, c.1);
            let ang = |p: Pt| (p.1 - centre.1).atan2(p.0 - centre.0);
            let (a0, a1) = (ang(person.home), ang(person.work));
            let mut da = (a1 - a0).rem_euclid(std::f64::consts::TAU);
            if da > std::f64::consts::PI {
                da -= std::f64::consts::TAU;
            }
            let ring: Vec<Pt> = (0..=8)
                .map(|i| {
                    let a = a0 + da * i as f64 / 8.0;
                    (centre.0 + RING_ROAD_M * a.cos(), centre.1 + RING_ROAD_M * a.sin())
                })
                .collect();
            b.go_via(&ring, 22.0);
            b.go_via(&[person.work], 25.0);
            let mut p = b.leave();
            p.through = true;
            p
        }
    };
    path.attends = attends;
    path
}

fn evening(
    world: &World,
    person: &Person,
    mut b: Builder,
    attends: bool,
    gathering: Option<&GatheringPlan>,
    rng: &mut Rng,
    p_activity: f64,
) -> DayPath {
    if let (true, Some(g)) = (attends, gathering) {
        let venue = near(world, g.venue, 350.0, rng);
        let travel = travel_s(b.cur, venue);
        let depart = g.start_s.saturating_sub(travel + (rng.f64() * 1800.0) as u32).max(b.t);
        if b.cur != person.home && depart > b.t + 3600 {
            b.go(person.home);
        }
        b.stay_until(depart);
        b.go(venue);
        b.stay_until(g.end_s + (rng.f64() * 1200.0) as u32);
        b.go(person.home);
        return b.end();
    }
    if b.cur != person.home && rng.chance(p_activity) {
        b.go(world.sample_job(rng));
        b.stay_until(b.t + 2700 + (rng.f64() * 4500.0) as u32);
    }
    b.go(person.home);
    b.end()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_coherent_for_every_role() {
        let world = World::new(200, 3).unwrap();
        let people = population(&world, 3000, 0.4, 3);
        let with_device = people.iter().filter(|p| p.device.is_some()).count() as f64 / people.len() as f64;
        assert!((with_device - 0.4).abs() < 0.04, "{with_device}");
        for (i, p) in people.iter().enumerate().step_by(7) {
            for weekend in [false, true] {
                let d = plan_day(&world, p, i, 0, weekend, None, 3);
                for w in d.wps.windows(2) {
                    assert!(w[0].0 <= w[1].0, "{:?} {:?}", p.role, d.wps);
                }
                for s in &d.stays {
                    assert!(s.start < s.end && s.end <= DAY);
                }
                if matches!(p.role, Role::Worker | Role::Homebody) {
                    assert_eq!(d.present, (0, DAY));
                    assert_eq!(d.at(100), Some(p.home));
                }
                if p.role == Role::Through && d.present.1 > 0 {
                    assert!(d.through && d.stays.is_empty());
                }
            }
        }
    }
}
