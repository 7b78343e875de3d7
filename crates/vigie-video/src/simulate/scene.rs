//! Scene description and the frame renderer (RGB, row-major).
//!
//! The ground is a `ground_w_m` × `ground_h_m` rectangle filling the frame, north up (a
//! camera looking down steeply): image x = east / ground_w, image y = 1 − north / ground_h.

/// A small deterministic generator (xorshift64*), so that scenes are reproducible.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.f64()
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pose {
    Standing,
    Crouching,
    Lying,
}

/// Something carried, then maybe put down (and maybe picked up again).
#[derive(Debug, Clone, PartialEq)]
pub struct Carry {
    pub w_m: f64,
    pub h_m: f64,
    pub rgb: [u8; 3],
    pub drop_t: Option<f64>,
    pub pick_t: Option<f64>,
}

/// A person: visible between its first and last key frame, moving linearly between them.
#[derive(Debug, Clone, PartialEq)]
pub struct Walker {
    /// `(t_secs, east_m, north_m)`, times increasing.
    pub path: Vec<(f64, f64, f64)>,
    pub w_m: f64,
    pub h_m: f64,
    pub rgb: [u8; 3],
    pub poses: Vec<(f64, Pose)>,
    pub carry: Option<Carry>,
    /// Something held at mid-height (a weapon in the weapon scene): `(w_m, h_m, rgb)`.
    pub holds: Option<(f64, f64, [u8; 3])>,
}

impl Walker {
    pub fn new(path: Vec<(f64, f64, f64)>, rgb: [u8; 3]) -> Walker {
        Walker { path, w_m: 0.6, h_m: 1.7, rgb, poses: Vec::new(), carry: None, holds: None }
    }

    pub fn at(&self, t: f64) -> Option<(f64, f64)> {
        let first = self.path.first()?;
        let last = self.path.last()?;
        if t < first.0 || t > last.0 {
            return None;
        }
        for w in self.path.windows(2) {
            let (a, b) = (w[0], w[1]);
            if t >= a.0 && t <= b.0 {
                let f = if b.0 > a.0 { (t - a.0) / (b.0 - a.0) } else { 0.0 };
                return Some((a.1 + f * (b.1 - a.1), a.2 + f * (b.2 - a.2)));
            }
        }
        Some((last.1, last.2))
    }

    pub fn pose(&self, t: f64) -> Pose {
        self.poses.iter().rev().find(|(pt, _)| *pt <= t).map_or(Pose::Standing, |p| p.1)
    }

    /// Where the carried object is put down (beside the walker's feet at `drop_t`).
    pub fn drop_point(&self) -> Option<(f64, f64)> {
        let c = self.carry.as_ref()?;
        let (x, y) = self.at(c.drop_t?)?;
        Some((x + self.w_m / 2.0 + c.w_m / 2.0 + 0.05, y))
    }
}

/// A static object (a box, a bin, an orange sign) present between `t0` and `t1`.
#[derive(Debug, Clone, PartialEq)]
pub struct Prop {
    pub east_m: f64,
    pub north_m: f64,
    pub w_m: f64,
    pub h_m: f64,
    pub rgb: [u8; 3],
    pub t0: f64,
    pub t1: f64,
}

/// A fire start: a flickering flame-coloured blob growing from `r0_m` to `r1_m`.
#[derive(Debug, Clone, PartialEq)]
pub struct FireSpec {
    pub east_m: f64,
    pub north_m: f64,
    pub r0_m: f64,
    pub r1_m: f64,
    pub t0: f64,
    pub t1: f64,
}

/// Things that happen to the camera.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Lens covered: a near-uniform dark frame.
    Cover { t0: f64, t1: f64 },
    /// Out of focus: a wide box blur.
    Defocus { t0: f64, t1: f64 },
    /// Camera turned: the whole view shifts by `dx_px`, `dy_px` from `t0` on.
    Shift { t0: f64, dx_px: i32, dy_px: i32 },
    /// Lighting change: brightness ramps by `delta` over `t0..t1` and stays.
    Brighten { t0: f64, t1: f64, delta: f64 },
}

#[derive(Debug, Clone, PartialEq)]
pub struct SceneSpec {
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    pub duration_secs: f64,
    pub ground_w_m: f64,
    pub ground_h_m: f64,
    pub seed: u64,
    pub walkers: Vec<Walker>,
    pub props: Vec<Prop>,
    pub fires: Vec<FireSpec>,
    pub effects: Vec<Effect>,
    /// Per-pixel sensor noise amplitude (± levels).
    pub noise: u8,
}

impl SceneSpec {
    pub fn new(name: &str, width: u32, height: u32, duration_secs: f64, seed: u64) -> SceneSpec {
        SceneSpec {
            name: name.to_owned(),
            width,
            height,
            fps: 5.0,
            duration_secs,
            ground_w_m: 32.0,
            ground_h_m: 18.0,
            seed,
            walkers: Vec::new(),
            props: Vec::new(),
            fires: Vec::new(),
            effects: Vec::new(),
            noise: 3,
        }
    }

    pub fn frames(&self) -> usize {
        (self.duration_secs * self.fps).round() as usize
    }

    /// Pixel of a ground point.
    pub fn to_px(&self, east_m: f64, north_m: f64) -> (f64, f64) {
        (east_m / self.ground_w_m * self.width as f64, (1.0 - north_m / self.ground_h_m) * self.height as f64)
    }

    pub fn px_per_m(&self) -> f64 {
        self.width as f64 / self.ground_w_m
    }

    /// The calibration pairs of this scene's camera (frame corners ↔ ground corners).
    pub fn calibration_toml(&self) -> String {
        let (w, h) = (self.ground_w_m, self.ground_h_m);
        format!(
            "calibration = [\n  {{ image = [0.0, 0.0], ground_m = [0.0, {h}] }},\n  {{ image = [1.0, 0.0], ground_m = [{w}, {h}] }},\n  {{ image = [1.0, 1.0], ground_m = [{w}, 0.0] }},\n  {{ image = [0.0, 1.0], ground_m = [0.0, 0.0] }},\n]\n"
        )
    }
}

/// The static pavement: stones with joints, shading and grain.
pub fn background(spec: &SceneSpec) -> Vec<u8> {
    let (w, h) = (spec.width as usize, spec.height as usize);
    let mut rng = Rng::new(spec.seed ^ 0xBAC6);
    let stone = (spec.px_per_m() * 0.8).max(4.0) as usize;
    let cols = w / stone + 2;
    let rows = h / stone + 2;
    let shades: Vec<f64> = (0..cols * rows).map(|_| rng.range(-18.0, 18.0)).collect();
    // Large structures (a road band, planters, kerbs) give the view a shape of its own,
    // as a real street has: a turned camera sees something else.
    let band = (rng.range(0.3, 0.45) * h as f64) as usize..(rng.range(0.5, 0.6) * h as f64) as usize;
    let planters: Vec<(usize, usize, usize, usize)> = (0..4)
        .map(|_| {
            let (px, py) = ((rng.f64() * w as f64 * 0.85) as usize, (rng.f64() * h as f64 * 0.85) as usize);
            (px, py, px + (w as f64 * rng.range(0.05, 0.12)) as usize, py + (h as f64 * rng.range(0.05, 0.1)) as usize)
        })
        .collect();
    let mut out = vec![0u8; w * h * 3];
    for y in 0..h {
        for x in 0..w {
            let (sx, sy) = (x / stone, y / stone);
            let joint = x % stone == 0 || y % stone == 0;
            let mut base = 128.0 + shades[sy * cols + sx] + 10.0 * ((x as f64) / w as f64 - 0.5);
            if band.contains(&y) {
                base -= 30.0;
            }
            if planters.iter().any(|&(a, b, c, d)| x >= a && x < c && y >= b && y < d) {
                base += 40.0;
            }
            let grain = rng.range(-6.0, 6.0);
            let v = if joint { base - 35.0 } else { base + grain };
            let i = (y * w + x) * 3;
            out[i] = (v + 4.0).clamp(0.0, 255.0) as u8;
            out[i + 1] = v.clamp(0.0, 255.0) as u8;
            out[i + 2] = (v - 6.0).clamp(0.0, 255.0) as u8;
        }
    }
    out
}

/// Fills the rectangle `r = [x0, y0, x1, y1]` (pixels, clipped) with colour `c`.
fn fill_rect(rgb: &mut [u8], w: usize, h: usize, r: [f64; 4], c: [u8; 3]) {
    let [x0, y0, x1, y1] = r;
    let (xa, xb) = (x0.round().max(0.0) as usize, (x1.round().max(0.0) as usize).min(w));
    let (ya, yb) = (y0.round().max(0.0) as usize, (y1.round().max(0.0) as usize).min(h));
    for y in ya..yb {
        for x in xa..xb {
            rgb[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&c);
        }
    }
}

fn darker(c: [u8; 3], k: f64) -> [u8; 3] {
    c.map(|v| (v as f64 * k) as u8)
}

/// Renders frame `k` (time `k / fps`) over `bg`.
pub fn render(spec: &SceneSpec, bg: &[u8], k: usize) -> Vec<u8> {
    let (w, h) = (spec.width as usize, spec.height as usize);
    let t = k as f64 / spec.fps;
    let ppm = spec.px_per_m();
    let mut rgb = bg.to_vec();
    let mut rng = Rng::new(spec.seed.wrapping_add(k as u64 * 7919));
    // Shift (camera turned): move the background before anything is drawn on it.
    for e in &spec.effects {
        if let Effect::Shift { t0, dx_px, dy_px } = *e
            && t >= t0
        {
            let src = rgb.clone();
            for y in 0..h {
                for x in 0..w {
                    let sx = (x as i64 - dx_px as i64).rem_euclid(w as i64) as usize;
                    let sy = (y as i64 - dy_px as i64).rem_euclid(h as i64) as usize;
                    rgb[(y * w + x) * 3..(y * w + x) * 3 + 3]
                        .copy_from_slice(&src[(sy * w + sx) * 3..(sy * w + sx) * 3 + 3]);
                }
            }
        }
    }
    for p in &spec.props {
        if t >= p.t0 && t < p.t1 {
            let (cx, cy) = spec.to_px(p.east_m, p.north_m);
            let (pw, ph) = (p.w_m * ppm, p.h_m * ppm);
            fill_rect(&mut rgb, w, h, [cx - pw / 2.0, cy - ph, cx + pw / 2.0, cy], p.rgb);
        }
    }
    for wk in &spec.walkers {
        // A bag put down stays where it was dropped, with or without its carrier in view.
        if let Some(c) = &wk.carry
            && let (Some(d), Some((dx, dy))) = (c.drop_t, wk.drop_point())
            && t >= d
            && c.pick_t.is_none_or(|p| t < p)
        {
            let (cx, cy) = spec.to_px(dx, dy);
            fill_rect(&mut rgb, w, h, [cx - c.w_m * ppm / 2.0, cy - c.h_m * ppm, cx + c.w_m * ppm / 2.0, cy], c.rgb);
        }
        let Some((x, y)) = wk.at(t) else { continue };
        let (fx, fy) = spec.to_px(x, y);
        let (pw, ph) = (wk.w_m * ppm, wk.h_m * ppm);
        match wk.pose(t) {
            Pose::Standing => {
                fill_rect(&mut rgb, w, h, [fx - pw / 2.0, fy - ph, fx + pw / 2.0, fy], wk.rgb);
                // Head and legs: some texture on the body.
                fill_rect(&mut rgb, w, h, [fx - pw / 3.0, fy - ph, fx + pw / 3.0, fy - ph * 0.82], [200, 170, 150]);
                fill_rect(&mut rgb, w, h, [fx - pw / 2.0, fy - ph * 0.45, fx + pw / 2.0, fy], darker(wk.rgb, 0.6));
            }
            Pose::Crouching => {
                let ch = ph * 0.6;
                fill_rect(&mut rgb, w, h, [fx - pw / 2.0 - 1.0, fy - ch, fx + pw / 2.0 + 1.0, fy], wk.rgb);
                fill_rect(&mut rgb, w, h, [fx - pw / 3.0, fy - ch, fx + pw / 3.0, fy - ch * 0.75], [200, 170, 150]);
            }
            Pose::Lying => {
                fill_rect(&mut rgb, w, h, [fx - ph / 2.0, fy - pw, fx + ph / 2.0, fy], wk.rgb);
                fill_rect(&mut rgb, w, h, [fx + ph * 0.32, fy - pw, fx + ph / 2.0, fy], [200, 170, 150]);
            }
        }
        if let Some(c) = &wk.carry {
            let carried = match (c.drop_t, c.pick_t) {
                (None, _) => true,
                (Some(d), None) => t < d,
                (Some(d), Some(p)) => t < d || t >= p,
            };
            if carried {
                let bx = fx + pw / 2.0;
                fill_rect(&mut rgb, w, h, [bx, fy - c.h_m * ppm, bx + c.w_m * ppm, fy], c.rgb);
            }
        }
        if let Some((hw, hh, hc)) = wk.holds
            && wk.pose(t) == Pose::Standing
        {
            let bx = fx + pw / 2.0;
            fill_rect(&mut rgb, w, h, [bx, fy - ph * 0.6, bx + hw * ppm, fy - ph * 0.6 + hh * ppm], hc);
        }
    }
    for f in &spec.fires {
        if t < f.t0 || t >= f.t1 {
            continue;
        }
        let g = ((t - f.t0) / (f.t1 - f.t0).max(1e-6)).clamp(0.0, 1.0);
        let r = (f.r0_m + g * (f.r1_m - f.r0_m)) * ppm;
        let (cx, cy) = spec.to_px(f.east_m, f.north_m);
        let (xa, xb) = ((cx - r * 1.4).max(0.0) as usize, ((cx + r * 1.4) as usize).min(w));
        let (ya, yb) = ((cy - r * 2.6).max(0.0) as usize, (cy as usize + 1).min(h));
        // Tongues: the edge of each of 10 sectors moves every frame, as flames do.
        let tongues: Vec<f64> = (0..10).map(|_| rng.range(0.45, 1.15)).collect();
        for y in ya..yb {
            for x in xa..xb {
                // Flames: taller than wide, ragged edge redrawn every frame.
                let (dx, dy) = ((x as f64 - cx) / r, (cy - y as f64) / (r * 2.4));
                let sector =
                    (((dy - 0.3).atan2(dx) + std::f64::consts::PI) / std::f64::consts::TAU * 10.0) as usize % 10;
                let ragged = tongues[sector] + 0.1 * rng.f64();
                if dx * dx + (dy - 0.3).powi(2) < ragged * ragged {
                    let heat = rng.f64();
                    let c = [255, (90.0 + 150.0 * heat) as u8, (10.0 + 40.0 * heat * heat) as u8];
                    rgb[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&c);
                }
            }
        }
    }
    for e in &spec.effects {
        match *e {
            Effect::Cover { t0, t1 } if t >= t0 && t < t1 => {
                for (i, v) in rgb.iter_mut().enumerate() {
                    *v = 14 + (i % 3) as u8;
                }
            }
            Effect::Defocus { t0, t1 } if t >= t0 && t < t1 => box_blur(&mut rgb, w, h, (ppm * 0.5).max(3.0) as usize),
            Effect::Brighten { t0, t1, delta } if t >= t0 => {
                let d = delta * ((t - t0) / (t1 - t0).max(1e-6)).min(1.0);
                rgb.iter_mut().for_each(|v| *v = (*v as f64 + d).clamp(0.0, 255.0) as u8);
            }
            _ => {}
        }
    }
    if spec.noise > 0 {
        let n = spec.noise as i32;
        for v in rgb.iter_mut() {
            let d = (rng.next_u64() % (2 * n as u64 + 1)) as i32 - n;
            *v = (*v as i32 + d).clamp(0, 255) as u8;
        }
    }
    rgb
}

/// Separable box blur of radius `r` (both passes), in place.
fn box_blur(rgb: &mut [u8], w: usize, h: usize, r: usize) {
    let mut tmp = rgb.to_vec();
    for y in 0..h {
        for x in 0..w {
            let (a, b) = (x.saturating_sub(r), (x + r + 1).min(w));
            for c in 0..3 {
                let s: u32 = (a..b).map(|xx| rgb[(y * w + xx) * 3 + c] as u32).sum();
                tmp[(y * w + x) * 3 + c] = (s / (b - a) as u32) as u8;
            }
        }
    }
    for y in 0..h {
        for x in 0..w {
            let (a, b) = (y.saturating_sub(r), (y + r + 1).min(h));
            for c in 0..3 {
                let s: u32 = (a..b).map(|yy| tmp[(yy * w + x) * 3 + c] as u32).sum();
                rgb[(y * w + x) * 3 + c] = (s / (b - a) as u32) as u8;
            }
        }
    }
}
