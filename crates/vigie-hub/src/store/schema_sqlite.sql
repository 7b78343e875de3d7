-- Vigie store, SQLite flavour. Times: detection time in ns, others in ms since the epoch (UTC).
CREATE TABLE IF NOT EXISTS detections (
    id TEXT PRIMARY KEY,
    sensor TEXT NOT NULL,
    kind TEXT NOT NULL,
    time_ns INTEGER NOT NULL,
    received_ms INTEGER NOT NULL,
    lon REAL NOT NULL,
    lat REAL NOT NULL,
    uncertainty_m REAL,
    confidence REAL NOT NULL,
    attributes TEXT NOT NULL,
    evidence TEXT NOT NULL,
    incident_id TEXT
);
CREATE INDEX IF NOT EXISTS detections_time ON detections (time_ns);
-- No (sensor, time) index here: with thousands of sensors each batch would dirty one index
-- page per sensor, multiplying what every commit writes. A sensor filter walks the time
-- index instead (give a time range on large stores); PostgreSQL keeps that index.
DROP INDEX IF EXISTS detections_sensor_time;
CREATE INDEX IF NOT EXISTS detections_incident ON detections (incident_id) WHERE incident_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS incidents (
    id TEXT PRIMARY KEY,
    rule TEXT NOT NULL,
    incident_type TEXT NOT NULL,
    title TEXT NOT NULL,
    priority INTEGER NOT NULL,
    state TEXT NOT NULL,
    district TEXT,
    lon REAL NOT NULL,
    lat REAL NOT NULL,
    radius_m REAL NOT NULL,
    opened_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    first_ms INTEGER NOT NULL,
    last_ms INTEGER NOT NULL,
    detection_count INTEGER NOT NULL,
    sensors TEXT NOT NULL,
    kinds TEXT NOT NULL,
    assignee TEXT,
    outcome TEXT,
    version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS incidents_state ON incidents (state, priority, opened_ms);

CREATE TABLE IF NOT EXISTS incident_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS incident_events_incident ON incident_events (incident_id, seq);
