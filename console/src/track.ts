// Where a mobile camera was at a moment, from its stored fixes (`GET /api/v1/sensors/{id}/track`):
// linear between the two fixes around it, else the nearest one within the gap the hub also
// allows when it places detections (`position_max_gap_secs`, 10 s by default).
import { req } from './api';
import type { PositionFix } from './types/sensor';

export interface Fix {
  t: number;
  lon: number;
  lat: number;
  heading?: number;
}

const MAX_GAP_MS = 10_000;

/** The fixes of `sensor` between `from` and `to` (ms), oldest first. */
export async function trackOf(sensor: string, from: number, to: number): Promise<Fix[]> {
  const q = `from=${encodeURIComponent(new Date(from).toISOString())}&to=${encodeURIComponent(new Date(to).toISOString())}&limit=100000`;
  const r = await req<{ fixes: PositionFix[] }>('GET', `/api/v1/sensors/${encodeURIComponent(sensor)}/track?${q}`);
  return r.fixes.map((f) => ({ t: Date.parse(f.time), lon: f.lon, lat: f.lat, heading: f.heading_deg })).sort((a, b) => a.t - b.t);
}

/** The position at `at` (ms), or null when no fix is near enough. */
export function positionAt(fixes: Fix[], at: number): Fix | null {
  let lo = 0;
  let hi = fixes.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (fixes[mid].t <= at) lo = mid + 1;
    else hi = mid;
  }
  const before = fixes[lo - 1];
  const after = fixes[lo];
  if (before && after && after.t - before.t <= 2 * MAX_GAP_MS) {
    const k = (at - before.t) / Math.max(1, after.t - before.t);
    return { t: at, lon: before.lon + (after.lon - before.lon) * k, lat: before.lat + (after.lat - before.lat) * k, heading: (k < 0.5 ? before : after).heading };
  }
  const near = [before, after].filter((f): f is Fix => !!f && Math.abs(f.t - at) <= MAX_GAP_MS).sort((a, b) => Math.abs(a.t - at) - Math.abs(b.t - at))[0];
  return near ? { ...near, t: at } : null;
}
