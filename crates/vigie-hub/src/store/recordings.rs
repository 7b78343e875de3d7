//! The index of recordings (one row per segment file) and the operators' saved wall
//! layouts. Same statements on both backends ([`super::sql`]).
//!
//! A segment is **held** while a legal hold stands on an incident with a detection of its
//! camera within [`HOLD_MARGIN_NS`] of it: no purge (age, events mode, disk budget) ever
//! deletes it then.

use chrono::{DateTime, Utc};
use serde::Serialize;
use vigie_record::segment::SegmentMeta;

use super::registry::Registry;
use super::sql::{Row, Val};
use super::{PurgeScope, Result, StoreError, from_ms, from_ns, ms, ns};

/// Around an incident's detections, recordings of their cameras are held this far (5 min).
pub const HOLD_MARGIN_NS: i64 = 5 * 60 * 1_000_000_000;

/// One indexed segment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentRecord {
    pub id: String,
    pub camera: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub bytes: u64,
    pub sha256: String,
    pub codec: String,
    pub width: u32,
    pub height: u32,
    pub frames: u64,
    pub masked: bool,
    pub masks: u32,
    /// `continuous` or `events`.
    pub mode: String,
    pub pre_secs: u32,
    pub post_secs: u32,
    /// Relative to the recordings folder.
    #[serde(skip)]
    pub path: String,
    pub received_at: DateTime<Utc>,
    /// Under a legal hold (never purged while it stands).
    pub held: bool,
}

/// What the hub holds of one camera.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CameraRecordings {
    pub camera: String,
    pub segments: u64,
    pub bytes: u64,
    pub first: Option<DateTime<Utc>>,
    pub last: Option<DateTime<Utc>>,
}

/// A segment removed by a purge (its file goes next).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgedSegment {
    pub id: String,
    pub camera: String,
    pub path: String,
    pub bytes: u64,
}

/// A saved layout of the video wall.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WallLayout {
    pub name: String,
    /// The layout as the console wrote it (JSON).
    pub layout: serde_json::Value,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "s.id, s.camera, s.start_ns, s.end_ns, s.bytes, s.sha256, s.codec, s.width, s.height, \
    s.frames, s.masked, s.masks, s.keep_mode, s.pre_ms, s.post_ms, s.path, s.received_ms";

/// `EXISTS (…)`: the segment `s` is under a legal hold.
fn held_sql() -> String {
    format!(
        "EXISTS (SELECT 1 FROM legal_holds h JOIN detections d ON d.incident_id = h.incident_id \
         WHERE d.sensor = s.camera AND d.time_ns >= s.start_ns - {HOLD_MARGIN_NS} AND d.time_ns <= s.end_ns + {HOLD_MARGIN_NS})"
    )
}

fn u(v: i64) -> u64 {
    v.max(0) as u64
}

fn segment_from(r: &Row) -> Result<SegmentRecord> {
    Ok(SegmentRecord {
        id: r.text(0)?,
        camera: r.text(1)?,
        start: from_ns(r.int(2)?),
        end: from_ns(r.int(3)?),
        bytes: u(r.int(4)?),
        sha256: r.text(5)?,
        codec: r.text(6)?,
        width: u(r.int(7)?) as u32,
        height: u(r.int(8)?) as u32,
        frames: u(r.int(9)?),
        masked: r.bool(10)?,
        masks: u(r.int(11)?) as u32,
        mode: r.text(12)?,
        pre_secs: (u(r.int(13)?) / 1000) as u32,
        post_secs: (u(r.int(14)?) / 1000) as u32,
        path: r.text(15)?,
        received_at: from_ms(r.int(16)?)?,
        held: r.bool(17)?,
    })
}

fn purged_from(r: &Row) -> Result<PurgedSegment> {
    Ok(PurgedSegment { id: r.text(0)?, camera: r.text(1)?, path: r.text(2)?, bytes: u(r.int(3)?) })
}

impl Registry {
    /// Indexes an uploaded segment; `false` if that id is already indexed.
    pub fn insert_segment(&self, m: &SegmentMeta, path: &str, received: DateTime<Utc>) -> Result<bool> {
        let n = self.conn().exec(
            "INSERT INTO recording_segments (id, camera, start_ns, end_ns, bytes, sha256, codec, width, height, frames, \
             masked, masks, keep_mode, pre_ms, post_ms, path, received_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) ON CONFLICT (id) DO NOTHING",
            &[
                m.id.as_str().into(),
                m.camera.as_str().into(),
                ns(m.start).into(),
                ns(m.end).into(),
                (m.bytes as i64).into(),
                m.sha256.as_str().into(),
                m.codec.as_str().into(),
                i64::from(m.width).into(),
                i64::from(m.height).into(),
                (m.frames as i64).into(),
                m.masked.into(),
                i64::from(m.masks).into(),
                m.mode.as_str().into(),
                (i64::from(m.pre_secs) * 1000).into(),
                (i64::from(m.post_secs) * 1000).into(),
                path.into(),
                ms(received).into(),
            ],
        )?;
        Ok(n == 1)
    }

    pub fn segment(&self, id: &str) -> Result<Option<SegmentRecord>> {
        let rows = self.conn().rows(
            &format!("SELECT {COLUMNS}, {} FROM recording_segments s WHERE s.id = $1", held_sql()),
            &[id.into()],
        )?;
        rows.first().map(segment_from).transpose()
    }

    /// A camera's segments that overlap `[from, to)`, in time order, at most `limit`.
    pub fn segments(
        &self,
        camera: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<SegmentRecord>> {
        let rows = self.conn().rows(
            &format!(
                "SELECT {COLUMNS}, {} FROM recording_segments s WHERE s.camera = $1 AND s.start_ns < $3 \
                 AND s.end_ns > $2 ORDER BY s.start_ns, s.id LIMIT $4",
                held_sql()
            ),
            &[camera.into(), ns(from).into(), ns(to).into(), i64::from(limit).into()],
        )?;
        rows.iter().map(segment_from).collect()
    }

    /// Per camera: how many segments, bytes, first start and last end.
    pub fn recording_cameras(&self) -> Result<Vec<CameraRecordings>> {
        let rows = self.conn().rows(
            "SELECT camera, COUNT(*), CAST(SUM(bytes) AS BIGINT), MIN(start_ns), MAX(end_ns) FROM recording_segments \
             GROUP BY camera ORDER BY camera",
            &[],
        )?;
        rows.iter()
            .map(|r| {
                Ok(CameraRecordings {
                    camera: r.text(0)?,
                    segments: u(r.int(1)?),
                    bytes: u(r.opt_int(2)?.unwrap_or(0)),
                    first: r.opt_int(3)?.map(from_ns),
                    last: r.opt_int(4)?.map(from_ns),
                })
            })
            .collect()
    }

    /// Bytes of every indexed segment.
    pub fn recordings_bytes(&self) -> Result<u64> {
        let rows = self.conn().rows("SELECT CAST(COALESCE(SUM(bytes), 0) AS BIGINT) FROM recording_segments", &[])?;
        Ok(rows.first().map(|r| r.int(0)).transpose()?.map_or(0, u))
    }

    fn delete_returning(&self, select: &str, args: &[Val]) -> Result<Vec<PurgedSegment>> {
        let sql = format!("DELETE FROM recording_segments WHERE id IN ({select}) RETURNING id, camera, path, bytes");
        self.conn().rows(&sql, args)?.iter().map(purged_from).collect()
    }

    /// Deletes up to `limit` segments of `scope` that ended before `before`, unless held.
    pub fn purge_recordings(
        &self,
        scope: PurgeScope<'_>,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<PurgedSegment>> {
        let (clause, mut args) = super::purge::scope_clause(scope, "s.camera", 3);
        let mut all = vec![ns(before).into(), i64::from(limit).into()];
        all.append(&mut args);
        let select = format!(
            "SELECT s.id FROM recording_segments s WHERE s.end_ns < $1{clause} AND NOT {} ORDER BY s.start_ns LIMIT $2",
            held_sql()
        );
        self.delete_returning(&select, &all)
    }

    /// Events mode: deletes up to `limit` segments no detection of their camera keeps
    /// (none within `pre` before to `post` after), once `grace` past their keeping window.
    pub fn purge_unneeded_event_recordings(
        &self,
        now: DateTime<Utc>,
        grace: chrono::Duration,
        limit: u32,
    ) -> Result<Vec<PurgedSegment>> {
        let select = format!(
            "SELECT s.id FROM recording_segments s WHERE s.keep_mode = 'events' \
             AND s.end_ns + s.post_ms * 1000000 < $1 \
             AND NOT EXISTS (SELECT 1 FROM detections d WHERE d.sensor = s.camera \
               AND d.time_ns >= s.start_ns - s.post_ms * 1000000 AND d.time_ns <= s.end_ns + s.pre_ms * 1000000) \
             AND NOT {} ORDER BY s.start_ns LIMIT $2",
            held_sql()
        );
        self.delete_returning(&select, &[ns(now - grace).into(), i64::from(limit).into()])
    }

    /// Deletes the `limit` oldest segments not held (the disk budget).
    pub fn purge_oldest_recordings(&self, limit: u32) -> Result<Vec<PurgedSegment>> {
        let select = format!(
            "SELECT s.id FROM recording_segments s WHERE NOT {} ORDER BY s.start_ns, s.id LIMIT $1",
            held_sql()
        );
        self.delete_returning(&select, &[i64::from(limit).into()])
    }

    // ---- wall layouts --------------------------------------------------------------

    pub fn wall_layouts(&self, username: &str) -> Result<Vec<WallLayout>> {
        let rows = self.conn().rows(
            "SELECT name, layout, updated_ms FROM wall_layouts WHERE username = $1 ORDER BY name",
            &[username.into()],
        )?;
        rows.iter()
            .map(|r| {
                Ok(WallLayout {
                    name: r.text(0)?,
                    layout: super::parse_json("wall layout", &r.text(1)?)?,
                    updated_at: from_ms(r.int(2)?)?,
                })
            })
            .collect()
    }

    /// Saves (or replaces) one of a person's layouts.
    pub fn save_wall_layout(
        &self,
        username: &str,
        name: &str,
        layout: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let text = serde_json::to_string(layout).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.conn().exec(
            "INSERT INTO wall_layouts (username, name, layout, updated_ms) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (username, name) DO UPDATE SET layout = excluded.layout, updated_ms = excluded.updated_ms",
            &[username.into(), name.into(), text.into(), ms(now).into()],
        )?;
        Ok(())
    }

    pub fn delete_wall_layout(&self, username: &str, name: &str) -> Result<bool> {
        Ok(self
            .conn()
            .exec("DELETE FROM wall_layouts WHERE username = $1 AND name = $2", &[username.into(), name.into()])?
            == 1)
    }
}
