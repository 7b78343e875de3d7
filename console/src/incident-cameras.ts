// Which cameras show an incident, and from when: its own cameras (those whose detections
// it holds) first, in the order they saw it, then the cameras near it, nearest first.
import type { Incident, IncidentDetail } from './types/incident';
import type { Sensor } from './types/sensor';

/** Cameras this close to an incident (m) are opened with it. */
const NEAR_M = 250;
/** Playback starts this long before the incident's first detection (ms). */
export const JUMP_BEFORE_MS = 2_000;

/** Great-circle distance (m) on a sphere: enough at city scale. */
function distanceM(lon1: number, lat1: number, lon2: number, lat2: number): number {
  const r = Math.PI / 180;
  const a = Math.sin(((lat2 - lat1) * r) / 2) ** 2 + Math.cos(lat1 * r) * Math.cos(lat2 * r) * Math.sin(((lon2 - lon1) * r) / 2) ** 2;
  return 2 * 6_371_000 * Math.asin(Math.min(1, Math.sqrt(a)));
}

export interface IncidentView {
  /** Camera ids: the incident's own, then those near it. */
  cameras: string[];
  /** How many of `cameras` are the incident's own. */
  own: number;
  /** When to start (ms): a little before the first detection. */
  at: number;
}

export function incidentCameras(i: Incident, d: IncidentDetail, sensors: Sensor[], max = 16): IncidentView {
  const isCamera = new Set(sensors.filter((s) => s.type === 'camera').map((s) => s.id));
  const dets = [...d.detections].sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  const own = [...new Set(dets.filter((x) => isCamera.has(x.sensor)).map((x) => x.sensor))];
  // A mobile camera is where its newest fix puts it (its home until a first fix).
  const near = sensors
    .filter((s) => s.type === 'camera' && !own.includes(s.id))
    .map((s) => ({ id: s.id, lon: s.position?.lon ?? s.lon, lat: s.position?.lat ?? s.lat }))
    .filter((x): x is { id: string; lon: number; lat: number } => typeof x.lon === 'number' && typeof x.lat === 'number')
    .map((x) => ({ id: x.id, m: distanceM(i.lon, i.lat, x.lon, x.lat) }))
    .filter((x) => x.m <= NEAR_M + i.radius_m)
    .sort((a, b) => a.m - b.m)
    .map((x) => x.id);
  const first = dets.find((x) => isCamera.has(x.sensor)) ?? dets[0];
  const at = (first ? Date.parse(first.time) : Date.parse(i.first_seen)) - JUMP_BEFORE_MS;
  const cameras = [...own, ...near].slice(0, max);
  return { cameras, own: Math.min(own.length, max), at };
}

/** Keeps the cameras that have recorded something (the hub's overview); the incident's
 *  own cameras when none has. */
export function withRecordings(v: IncidentView, recorded: Set<string>): string[] {
  const kept = v.cameras.filter((c) => recorded.has(c));
  return kept.length ? kept : v.cameras.slice(0, Math.max(1, v.own));
}
