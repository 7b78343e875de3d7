//! The cell table: `cell_id,lon,lat[,azimuth_deg][,range_m]` (CSV with a header). Cells of
//! one antenna site share its position; the azimuth is the sector's compass bearing.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::Path;

use crate::error::FlowsError;

#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub id: String,
    pub lon: f64,
    pub lat: f64,
    pub azimuth_deg: Option<f64>,
    pub range_m: Option<f64>,
}

/// The cells, indexed by their identifier as integer and as text.
#[derive(Debug, Clone)]
pub struct CellTable {
    pub cells: Vec<Cell>,
    by_int: HashMap<i64, u32, BuildHasherDefault<IdHasher>>,
    by_text: HashMap<String, u32>,
}

/// A multiplicative hash for cell ids: they come from the operator's own table, looked up
/// once per row, so speed matters and flooding does not (an unknown id is just rejected).
#[derive(Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ b as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn write_i64(&mut self, v: i64) {
        self.0 = (v as u64 ^ 0x9e37_79b9_7f4a_7c15).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95).rotate_left(29);
    }
}

/// At most this many cells (indices are `u32`, and the per-device state is sized by it).
pub const MAX_CELLS: usize = 1 << 24;

impl CellTable {
    pub fn new(cells: Vec<Cell>) -> Result<Self, String> {
        if cells.len() > MAX_CELLS {
            return Err(format!("{} cells, the limit is {MAX_CELLS}", cells.len()));
        }
        let mut t = CellTable { cells: Vec::new(), by_int: HashMap::default(), by_text: HashMap::new() };
        for (i, c) in cells.iter().enumerate() {
            if t.by_text.insert(c.id.clone(), i as u32).is_some() {
                return Err(format!("cell id {:?} appears twice", c.id));
            }
            if let Ok(v) = c.id.parse::<i64>() {
                t.by_int.insert(v, i as u32);
            }
        }
        t.cells = cells;
        Ok(t)
    }

    pub fn from_csv(path: &Path) -> Result<Self, FlowsError> {
        let file = std::fs::File::open(path).map_err(|e| FlowsError::Open { path: path.into(), source: e })?;
        Self::from_reader(file, path)
    }

    pub fn from_reader<R: std::io::Read>(r: R, path: &Path) -> Result<Self, FlowsError> {
        let err = |line: u64, detail: String| FlowsError::CellTable { path: path.into(), line, detail };
        let mut rdr = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(r);
        let headers = rdr.headers().map_err(|e| err(1, e.to_string()))?.clone();
        let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
        let (Some(ci), Some(lo), Some(la)) = (col("cell_id"), col("lon"), col("lat")) else {
            return Err(err(1, "header must name cell_id, lon and lat (azimuth_deg, range_m optional)".into()));
        };
        let (az, rg) = (col("azimuth_deg"), col("range_m"));
        let mut cells = Vec::new();
        for (n, rec) in rdr.records().enumerate() {
            let line = n as u64 + 2;
            let rec = rec.map_err(|e| err(line, e.to_string()))?;
            let field = |i: usize| rec.get(i).unwrap_or("");
            let num = |i: usize, what: &str| -> Result<f64, FlowsError> {
                field(i)
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| err(line, format!("{what} {:?} is not a number", field(i))))
            };
            let opt = |i: Option<usize>, what: &str| -> Result<Option<f64>, FlowsError> {
                match i.map(field) {
                    None | Some("") => Ok(None),
                    Some(_) => num(i.unwrap_or(0), what).map(Some),
                }
            };
            let id = field(ci).to_owned();
            if id.is_empty() || id.len() > 64 {
                return Err(err(line, "cell_id must be 1..64 characters".into()));
            }
            let (lon, lat) = (num(lo, "lon")?, num(la, "lat")?);
            if !((-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat)) {
                return Err(err(line, format!("position ({lon}, {lat}) is outside WGS 84 ranges")));
            }
            let azimuth_deg = opt(az, "azimuth_deg")?;
            if let Some(a) = azimuth_deg
                && !(0.0..=360.0).contains(&a)
            {
                return Err(err(line, format!("azimuth_deg {a} must be within 0..360")));
            }
            let range_m = opt(rg, "range_m")?;
            if let Some(r) = range_m
                && !(10.0..=100_000.0).contains(&r)
            {
                return Err(err(line, format!("range_m {r} must be within 10..100000")));
            }
            cells.push(Cell { id, lon, lat, azimuth_deg, range_m });
        }
        if cells.is_empty() {
            return Err(err(1, "the cell table has no cells".into()));
        }
        CellTable::new(cells).map_err(|e| err(0, e))
    }

    pub fn len(&self) -> usize {
        self.cells.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    #[inline]
    pub fn by_int(&self, id: i64) -> Option<u32> {
        self.by_int.get(&id).copied()
    }

    pub fn by_text(&self, id: &str) -> Option<u32> {
        self.by_text.get(id).copied().or_else(|| id.trim().parse::<i64>().ok().and_then(|v| self.by_int(v)))
    }

    /// Writes the table back as CSV (the generator's output).
    pub fn to_csv(&self) -> String {
        let mut s = String::from("cell_id,lon,lat,azimuth_deg,range_m\n");
        for c in &self.cells {
            let opt = |v: Option<f64>| v.map(|x| format!("{x:.1}")).unwrap_or_default();
            s.push_str(&format!("{},{:.6},{:.6},{},{}\n", c.id, c.lon, c.lat, opt(c.azimuth_deg), opt(c.range_m)));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_indexes() {
        let t = CellTable::from_reader(
            "cell_id,lon,lat,azimuth_deg,range_m\n5001,-1.55,47.21,0,1500\nabc,-1.56,47.22,,\n".as_bytes(),
            Path::new("cells.csv"),
        )
        .unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t.by_int(5001), Some(0));
        assert_eq!(t.by_text("5001"), Some(0));
        assert_eq!(t.by_text("abc"), Some(1));
        assert_eq!(t.cells[1].azimuth_deg, None);
        assert!(t.by_int(7).is_none());
    }

    #[test]
    fn rejects_bad_tables_with_the_line() {
        for (text, needle) in [
            ("id,lon,lat\n1,2,3\n", "header"),
            ("cell_id,lon,lat\n1,x,3\n", "line 2"),
            ("cell_id,lon,lat\n1,2,3\n1,2,3\n", "twice"),
            ("cell_id,lon,lat\n1,200,3\n", "outside"),
            ("cell_id,lon,lat,azimuth_deg\n1,2,3,400\n", "azimuth"),
            ("cell_id,lon,lat\n", "no cells"),
        ] {
            let e = CellTable::from_reader(text.as_bytes(), Path::new("c.csv")).unwrap_err().to_string();
            assert!(e.contains(needle), "{e}");
        }
    }
}
