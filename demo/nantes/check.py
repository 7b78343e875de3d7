#!/usr/bin/env python3
"""Consistency checks for the Nantes demo city (standard library only, Python >= 3.11).

    python3 demo/nantes/check.py            # prints a report, exits 1 on any error

Checks: districts are closed, counter-clockwise, share their borders vertex for vertex and
tile their bounding box (sampled); streets and places are well formed and every place lies
in the district it names; vigie.toml uses only known keys, ids are unique and well formed,
kinds are those of the detection contract, every sensor lies in a district and on land
(judged from the river lines of streets.geojson); microphones form clusters in which every
pair is 100-250 m apart.
"""
import json
import math
import re
import sys
import tomllib
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
DISTRICT_ID_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
KINDS = {
    "video.abandoned_object", "video.weapon", "video.wrong_way", "video.intrusion",
    "video.person_down", "video.crowd_movement", "video.crowd_density", "video.fire",
    "video.tamper",
    "audio.gunshot", "audio.explosion", "audio.glass_break", "audio.scream", "audio.siren",
    "audio.impulse",
    "flows.presence_anomaly", "flows.flow_anomaly",
    "social.burst", "social.negative_buzz",
    "citizen.report",
    "system.sensor_offline",
}
KINDS_BY_TYPE = {
    "camera": "video.", "microphone": "audio.", "flows": "flows.",
    "social": "social.", "citizen": "citizen.",
}
SENSOR_KEYS = {"id", "type", "name", "lon", "lat", "analytics"}
# Optional: a mobile sensor (drone) has its home at lon/lat and moves by telemetry.
OPTIONAL_SENSOR_KEYS = {"mobile"}
CAMERA_KEYS = {"heading_deg", "fov_deg", "range_m"}
RULE_KEYS = {"id", "incident_type", "title", "priority", "kinds", "require_kinds",
             "min_detections", "min_sensors", "min_confidence", "within_m", "window_secs"}
TOP_KEYS = {
    "hub": {"name"},
    "geo": {"districts"},
    "ingest": {"max_future_skew_secs", "max_age_secs"},
    "retention": {"detections_days", "evidence_days", "incidents_days", "purge_interval_secs"},
    "social": {"index"},
}
PRIORITIES = {"critical", "high", "medium", "low"}
MIC_PAIR_M = (100.0, 250.0)

errors = []


def err(msg):
    errors.append(msg)
    print("  ERROR", msg)


def meters(a, b):
    """Equirectangular distance in metres (good to well under 1 % at city scale)."""
    lat0 = math.radians((a[1] + b[1]) / 2)
    dx = math.radians(b[0] - a[0]) * math.cos(lat0) * 6371008.8
    dy = math.radians(b[1] - a[1]) * 6371008.8
    return math.hypot(dx, dy)


def point_in_ring(pt, ring):
    x, y = pt
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:]):
        if (y1 > y) != (y2 > y) and x1 + (y - y1) * (x2 - x1) / (y2 - y1) > x:
            inside = not inside
    return inside


def signed_area(ring):
    return sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring, ring[1:])) / 2


def interp(line, lon):
    """Latitude of a west-to-east polyline at a longitude (None outside its extent)."""
    pts = sorted(line)
    for (x1, y1), (x2, y2) in zip(pts, pts[1:]):
        if x1 <= lon <= x2:
            return y1 + (y2 - y1) * (lon - x1) / (x2 - x1) if x2 != x1 else y1
    return None


def load_fc(name):
    fc = json.loads((HERE / name).read_text(encoding="utf-8"))
    if fc.get("type") != "FeatureCollection":
        err(f"{name}: not a FeatureCollection")
    return fc["features"]


# ---------------------------------------------------------------- districts
print("districts.geojson")
districts = {}
for f in load_fc("districts.geojson"):
    p, g = f["properties"], f["geometry"]
    did = p.get("id", "")
    if not DISTRICT_ID_RE.match(did) or not p.get("name"):
        err(f"district {did!r}: bad id or missing name")
    if did in districts:
        err(f"district {did}: duplicate id")
    if g["type"] != "Polygon" or len(g["coordinates"]) != 1:
        err(f"district {did}: expected a Polygon without holes")
    ring = [tuple(c) for c in g["coordinates"][0]]
    if ring[0] != ring[-1] or len(ring) < 4:
        err(f"district {did}: ring not closed")
    if signed_area(ring) <= 0:
        err(f"district {did}: exterior ring not counter-clockwise")
    districts[did] = ring
xs = [x for r in districts.values() for x, _ in r]
ys = [y for r in districts.values() for _, y in r]
bbox = (min(xs), min(ys), max(xs), max(ys))
print(f"  {len(districts)} districts, bbox lon {bbox[0]}..{bbox[2]} lat {bbox[1]}..{bbox[3]}")

# Shared borders: every edge is either on the outer bbox or is, reversed, an edge of exactly
# one other district (so neighbours share their vertices and there are no slivers).
edges = Counter()
for did, ring in districts.items():
    for a, b in zip(ring, ring[1:]):
        edges[(a, b)] += 1
for did, ring in districts.items():
    for a, b in zip(ring, ring[1:]):
        on_bbox = (a[0] == b[0] and a[0] in (bbox[0], bbox[2])) or \
                  (a[1] == b[1] and a[1] in (bbox[1], bbox[3]))
        if not on_bbox and edges[(b, a)] != 1:
            err(f"district {did}: edge {a}->{b} not shared with a neighbour")

# Tiling, sampled on a grid offset from every vertex.
n, counts = 0, Counter()
for i in range(200):
    for j in range(200):
        pt = (bbox[0] + (bbox[2] - bbox[0]) * (i + 0.5317) / 200,
              bbox[1] + (bbox[3] - bbox[1]) * (j + 0.4731) / 200)
        hits = sum(point_in_ring(pt, r) for r in districts.values())
        counts[hits] += 1
        n += 1
print(f"  tiling: {n} sample points, by number of districts containing them: {dict(counts)}")
if set(counts) != {1}:
    err("districts overlap or leave gaps inside their bounding box")


def district_of(pt):
    return [d for d, r in districts.items() if point_in_ring(pt, r)]


# ---------------------------------------------------------------- streets
print("streets.geojson")
streets = load_fc("streets.geojson")
classes = Counter()
rivers = {}
for f in streets:
    p, g = f["properties"], f["geometry"]
    if g["type"] != "LineString" or len(g["coordinates"]) < 2 or not p.get("name"):
        err(f"street {p.get('name')!r}: bad geometry or name")
    if p.get("class") not in {"primary", "secondary", "tram", "river"}:
        err(f"street {p.get('name')!r}: bad class {p.get('class')!r}")
    classes[p.get("class")] += 1
    if p.get("class") == "river":
        rivers[p["name"]] = [tuple(c) for c in g["coordinates"]]
print(f"  {len(streets)} lines: {dict(classes)}")

RIVE_DROITE = rivers.get("Loire — rive droite")
ILE_NORD = rivers.get("Loire — île de Nantes, berge nord")
ILE_SUD = rivers.get("Loire — île de Nantes, berge sud")


def on_land(pt):
    """North bank of the Loire or Île de Nantes (the Erdre is ignored: it is narrow)."""
    lon, lat = pt
    north = interp(RIVE_DROITE, lon)
    if north is not None and lat > north:
        return True
    top, bottom = interp(ILE_NORD, lon), interp(ILE_SUD, lon)
    return top is not None and bottom is not None and bottom < lat < top


# ---------------------------------------------------------------- places
print("places.geojson")
places = load_fc("places.geojson")
pkinds = Counter()
for f in places:
    p, (lon, lat) = f["properties"], f["geometry"]["coordinates"]
    pkinds[p.get("kind")] += 1
    if p.get("kind") not in {"square", "tram_stop", "landmark", "street"}:
        err(f"place {p.get('name')!r}: bad kind")
    if district_of((lon, lat)) != [p.get("district")]:
        err(f"place {p.get('name')!r}: in {district_of((lon, lat))}, says {p.get('district')!r}")
    if not on_land((lon, lat)):
        err(f"place {p.get('name')!r} at {lon},{lat} is in the river")
names = Counter((f["properties"]["name"], f["properties"]["kind"]) for f in places)
for k, c in names.items():
    if c > 1:
        err(f"place {k} listed {c} times")
print(f"  {len(places)} places: {dict(pkinds)}")

# ---------------------------------------------------------------- vigie.toml
print("vigie.toml")
cfg = tomllib.loads((HERE / "vigie.toml").read_text(encoding="utf-8"))
for k in cfg:
    if k not in set(TOP_KEYS) | {"sensors", "rules", "authorizations"}:
        err(f"unknown top-level key {k}")
for table, keys in TOP_KEYS.items():
    extra = set(cfg.get(table, {})) - keys
    if extra:
        err(f"[{table}]: unknown keys {extra}")
if not (HERE / cfg["geo"]["districts"]).is_file():
    err("[geo] districts file missing")

sensors = cfg["sensors"]
by_type = Counter(s["type"] for s in sensors)
print(f"  {len(sensors)} sensors: {dict(by_type)}")
seen = set()
for s in sensors:
    sid = s.get("id", "")
    allowed = SENSOR_KEYS | OPTIONAL_SENSOR_KEYS | (CAMERA_KEYS if s.get("type") == "camera" else set())
    if set(s) - allowed:
        err(f"sensor {sid}: unknown keys {set(s) - allowed}")
    if SENSOR_KEYS - set(s):
        err(f"sensor {sid}: missing keys {SENSOR_KEYS - set(s)}")
    if not ID_RE.match(sid):
        err(f"sensor {sid!r}: malformed id")
    if sid in seen:
        err(f"sensor {sid}: duplicate id")
    seen.add(sid)
    prefix = KINDS_BY_TYPE.get(s.get("type"))
    if prefix is None:
        err(f"sensor {sid}: bad type {s.get('type')!r}")
        continue
    an = s.get("analytics", [])
    if not an or len(set(an)) != len(an):
        err(f"sensor {sid}: empty or repeated analytics")
    for k in an:
        if k not in KINDS or not k.startswith(prefix):
            err(f"sensor {sid}: kind {k} invalid for a {s['type']}")
    if s["type"] == "camera":
        if "video.tamper" not in an:
            err(f"camera {sid}: no video.tamper")
        if set(CAMERA_KEYS) - set(s):
            err(f"camera {sid}: missing {set(CAMERA_KEYS) - set(s)}")
        if not (0 <= s.get("heading_deg", -1) < 360 and 0 < s.get("fov_deg", 0) <= 180
                and 0 < s.get("range_m", 0) <= 500):
            err(f"camera {sid}: heading/fov/range out of range")
    pt = (s["lon"], s["lat"])
    if len(district_of(pt)) != 1:
        err(f"sensor {sid}: in districts {district_of(pt)}")
    if not on_land(pt):
        err(f"sensor {sid} at {pt} is in the river")

per_district = defaultdict(Counter)
for s in sensors:
    d = district_of((s["lon"], s["lat"]))
    per_district[d[0] if d else None][s["type"]] += 1
for d in districts:
    print(f"    {d:28s} {dict(per_district[d])}")
flows = {s["id"] for s in sensors if s["type"] == "flows"}
for d in districts:
    if f"flows-{d}" not in flows:
        err(f"no flows sensor for district {d}")

kind_use = Counter(k for s in sensors for k in s["analytics"])
print("  analytics in use:", ", ".join(f"{k}×{c}" for k, c in sorted(kind_use.items())))

# Microphone clusters, by id: mic-<cluster>-NN.
clusters = defaultdict(list)
for s in sensors:
    if s["type"] == "microphone":
        m = re.match(r"^mic-(.+)-\d+$", s["id"])
        clusters[m.group(1) if m else s["id"]].append(s)
print("  microphone clusters (pairwise distances, m):")
for name, mics in clusters.items():
    if not 3 <= len(mics) <= 4:
        err(f"cluster {name}: {len(mics)} microphones")
    pairs = []
    for i, a in enumerate(mics):
        for b in mics[i + 1:]:
            d = meters((a["lon"], a["lat"]), (b["lon"], b["lat"]))
            pairs.append(d)
            if not MIC_PAIR_M[0] <= d <= MIC_PAIR_M[1]:
                err(f"cluster {name}: {a['id']}-{b['id']} {d:.0f} m")
    print(f"    {name:10s} n={len(mics)}  " + " ".join(f"{d:.0f}" for d in pairs))

# Rules.
rules = cfg["rules"]
print(f"  {len(rules)} rules:")
rids = set()
for r in rules:
    rid = r.get("id", "")
    if set(r) - RULE_KEYS:
        err(f"rule {rid}: unknown keys {set(r) - RULE_KEYS}")
    for k in ("id", "incident_type", "title", "priority", "kinds", "within_m", "window_secs"):
        if k not in r:
            err(f"rule {rid}: missing {k}")
    if not ID_RE.match(rid) or rid in rids:
        err(f"rule {rid!r}: malformed or duplicate id")
    rids.add(rid)
    if r.get("priority") not in PRIORITIES:
        err(f"rule {rid}: bad priority")
    for k in r.get("kinds", []) + r.get("require_kinds", []):
        if k not in KINDS:
            err(f"rule {rid}: unknown kind {k}")
    if not set(r.get("require_kinds", [])) <= set(r.get("kinds", [])):
        err(f"rule {rid}: require_kinds not within kinds")
    # system.* kinds come from the hub itself (e.g. sensor_offline), not from sensors.
    if not any(k in kind_use or k.startswith("system.") for k in r.get("kinds", [])):
        err(f"rule {rid}: no sensor produces any of its kinds")
    min_det, min_sen = r.get("min_detections", 1), r.get("min_sensors", 1)
    if min_sen > min_det or min_det < len(r.get("require_kinds", [])):
        err(f"rule {rid}: min_sensors/min_detections inconsistent")
    if not 0 <= r.get("min_confidence", 0.5) <= 1 or r["within_m"] <= 0 or r["window_secs"] <= 0:
        err(f"rule {rid}: thresholds out of range")
    print(f"    {rid:30s} {r['priority']:8s} det>={min_det} sensors>={min_sen} "
          f"conf>={r.get('min_confidence', 0.5)} {r['within_m']} m {r['window_secs']} s")

print("OK" if not errors else f"{len(errors)} error(s)")
sys.exit(1 if errors else 0)
