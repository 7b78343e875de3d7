import type { Incident, IncidentDetail } from './types/incident';
import type { Sensor } from './types/sensor';
import type { FeatureCollection } from './types/zone';
import type { PrecisionStats } from './types/stats';
import type { Detection, PostResult } from './types/detection';

export class ApiFailure extends Error {}

/** A citizen report (`POST /api/v1/reports`); the hub strips the photo's metadata. */
export interface ReportRequest {
  category: string;
  description: string;
  lon: number;
  lat: number;
  uncertainty_m?: number;
  photo?: { media_type: string; data_base64: string };
}

async function req<T>(method: string, path: string, body?: unknown, ndjson = false): Promise<T> {
  const init: RequestInit = { method, headers: {} };
  if (body !== undefined) {
    init.body = ndjson ? String(body) : JSON.stringify(body);
    (init.headers as Record<string, string>)['Content-Type'] = ndjson ? 'application/x-ndjson' : 'application/json';
  }
  const r = await fetch(path, init);
  const text = await r.text();
  let data: any = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON */
  }
  if (!r.ok && !(ndjson && data && data.results)) {
    throw new ApiFailure(data?.error?.message ?? `${r.status} ${r.statusText}`);
  }
  return data as T;
}

export const api = {
  incidents: (q = '') => req<Incident[]>('GET', `/api/v1/incidents${q}`),
  incident: (id: string) => req<IncidentDetail>('GET', `/api/v1/incidents/${encodeURIComponent(id)}`),
  act: (id: string, action: Record<string, unknown>) =>
    req<Incident>('POST', `/api/v1/incidents/${encodeURIComponent(id)}/actions`, action),
  sensors: () => req<Sensor[]>('GET', '/api/v1/sensors'),
  zones: () => req<FeatureCollection>('GET', '/api/v1/zones'),
  basemap: () => req<FeatureCollection>('GET', '/api/v1/basemap'),
  precision: () => req<PrecisionStats>('GET', '/api/v1/stats/precision'),
  postReport: (r: ReportRequest) => req<{ reference: string }>('POST', '/api/v1/reports', r),
  postDetection: (d: Detection) => req<PostResult>('POST', '/api/v1/detections', JSON.stringify(d) + '\n', true),
};
