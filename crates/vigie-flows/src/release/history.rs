//! Earlier releases as the anomaly stage's baseline: the `series` of each release's
//! `summary.json` for the same weekday in previous weeks, read back from the releases'
//! root directory (`<root>/<YYYY-MM-DD>/summary.json`).

use std::path::Path;

use chrono::NaiveDate;

use super::Series;

/// Series of the same weekday in the `weeks` weeks before `day`, most recent first;
/// missing or unreadable releases are skipped (and said so in the second value).
pub fn previous_series(root: &Path, day: NaiveDate, weeks: usize) -> (Vec<Series>, Vec<String>) {
    let mut out = Vec::new();
    let mut missing = Vec::new();
    for w in 1..=weeks {
        let d = day - chrono::Duration::days(7 * w as i64);
        let p = root.join(d.to_string()).join("summary.json");
        let series = std::fs::read_to_string(&p)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| serde_json::from_value::<Series>(v["series"].clone()).ok());
        match series {
            Some(s) => out.push(s),
            None => missing.push(d.to_string()),
        }
    }
    (out, missing)
}
