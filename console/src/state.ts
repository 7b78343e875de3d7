// What the console knows: incidents (kept current by the live stream), sensors, districts.
import type { Incident, IncidentState } from './types/incident';
import type { Sensor } from './types/sensor';

export const PRIO_RANK: Record<string, number> = { critical: 0, high: 1, medium: 2, low: 3 };
export const OPEN: IncidentState[] = ['new', 'acknowledged', 'in_progress'];

export const state = {
  incidents: new Map<string, Incident>(),
  sensors: [] as Sensor[],
  districts: [] as { id: string; name: string }[],
  /** incident_type → title, from what has been seen. */
  types: new Map<string, string>(),
  selected: null as string | null,
  opened: null as string | null,
  filter: { type: '', district: '', state: 'open' },
};

/** Keeps the newer version; returns true when it changed something. */
export function upsert(i: Incident): boolean {
  const old = state.incidents.get(i.id);
  if (old && old.version > i.version) return false;
  state.incidents.set(i.id, i);
  state.types.set(i.incident_type, i.title);
  return true;
}

export function matches(i: Incident): boolean {
  const f = state.filter;
  if (f.type && i.incident_type !== f.type) return false;
  if (f.district && i.district !== f.district) return false;
  if (f.state === 'open') return OPEN.includes(i.state);
  if (f.state && f.state !== 'all') return i.state === f.state;
  return true;
}

/** Priority, then age (oldest first), as the hub lists them. */
export function sorted(list: Incident[]): Incident[] {
  return list.sort(
    (a, b) =>
      (PRIO_RANK[a.priority] ?? 9) - (PRIO_RANK[b.priority] ?? 9) ||
      openedMs(a) - openedMs(b) ||
      (a.id < b.id ? -1 : 1),
  );
}

/** Parsed opening times, by incident id (parsing in the comparator costs milliseconds per sort). */
const opened = new Map<string, { at: string; ms: number }>();
function openedMs(i: Incident): number {
  const c = opened.get(i.id);
  if (c && c.at === i.opened_at) return c.ms;
  const ms = Date.parse(i.opened_at);
  opened.set(i.id, { at: i.opened_at, ms });
  return ms;
}

export function visible(): Incident[] {
  return sorted([...state.incidents.values()].filter(matches));
}
