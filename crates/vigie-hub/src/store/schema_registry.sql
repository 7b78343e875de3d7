-- Vigie registers: one schema for SQLite and PostgreSQL (BIGINT is an integer in both).
-- Times in ms since the epoch (UTC). Secrets are stored only as SHA-256 (tokens,
-- session ids) or Argon2id (passwords).
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    must_change_password BIGINT NOT NULL,
    disabled BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    password_changed_ms BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS sessions (
    id_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    last_seen_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    client TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (username);

CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    role TEXT,
    sensors TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    revoked_ms BIGINT
);

-- Incidents under a judicial requisition: never purged while held.
CREATE TABLE IF NOT EXISTS legal_holds (
    incident_id TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    held_by TEXT NOT NULL,
    since_ms BIGINT NOT NULL
);

-- The register of extractions (R252-11 of the Code de la sécurité intérieure).
CREATE TABLE IF NOT EXISTS exports (
    id TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL,
    requisition_service TEXT NOT NULL,
    requisition_officer TEXT NOT NULL,
    requisition_number TEXT NOT NULL,
    requisition_date TEXT NOT NULL,
    reason TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_ms BIGINT NOT NULL,
    status TEXT NOT NULL,
    decided_by TEXT,
    decided_ms BIGINT,
    decision_note TEXT,
    package_sha256 TEXT,
    package_bytes BIGINT,
    files BIGINT,
    expires_ms BIGINT
);
CREATE INDEX IF NOT EXISTS exports_requested ON exports (requested_ms);

-- The register of purges: what retention removed, by class, per run.
CREATE TABLE IF NOT EXISTS purges (
    id TEXT PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    data_class TEXT NOT NULL,
    count BIGINT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS purges_at ON purges (at_ms);

-- Recordings: one row per segment file (<data>/recordings/<path>), written once on upload.
-- Times in ns since the epoch, like detections. keep_mode 'events': kept only within
-- pre_ms before and post_ms after one of the camera's detections.
CREATE TABLE IF NOT EXISTS recording_segments (
    id TEXT PRIMARY KEY,
    camera TEXT NOT NULL,
    start_ns BIGINT NOT NULL,
    end_ns BIGINT NOT NULL,
    bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    codec TEXT NOT NULL,
    width BIGINT NOT NULL,
    height BIGINT NOT NULL,
    frames BIGINT NOT NULL,
    masked BIGINT NOT NULL,
    masks BIGINT NOT NULL,
    keep_mode TEXT NOT NULL,
    pre_ms BIGINT NOT NULL,
    post_ms BIGINT NOT NULL,
    path TEXT NOT NULL,
    received_ms BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS recording_segments_camera_start ON recording_segments (camera, start_ns);
CREATE INDEX IF NOT EXISTS recording_segments_start ON recording_segments (start_ns);

-- Video wall layouts saved by each operator (the layout is JSON the console writes).
CREATE TABLE IF NOT EXISTS wall_layouts (
    username TEXT NOT NULL,
    name TEXT NOT NULL,
    layout TEXT NOT NULL,
    updated_ms BIGINT NOT NULL,
    PRIMARY KEY (username, name)
);

-- Position fixes of mobile sensors (drones, onboard cameras): never of a person. Times in
-- ns since the epoch, like detections; one fix per sensor and time (redeliveries kept once).
CREATE TABLE IF NOT EXISTS sensor_positions (
    sensor TEXT NOT NULL,
    time_ns BIGINT NOT NULL,
    lon DOUBLE PRECISION NOT NULL,
    lat DOUBLE PRECISION NOT NULL,
    heading_deg DOUBLE PRECISION,
    accuracy_m DOUBLE PRECISION,
    speed_mps DOUBLE PRECISION,
    received_ms BIGINT NOT NULL,
    PRIMARY KEY (sensor, time_ns)
);
CREATE INDEX IF NOT EXISTS sensor_positions_time ON sensor_positions (time_ns);
