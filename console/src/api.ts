import type { Incident, IncidentDetail } from './types/incident';
import type { Sensor } from './types/sensor';
import type { FeatureCollection } from './types/zone';
import type { PrecisionStats } from './types/stats';
import type { Detection, PostResult } from './types/detection';
import type { Me, Role } from './types/me';
import type { Token, User } from './types/account';
import type { Transparency } from './types/transparency';
import type { SocialResults } from './types/social';
import type { LiveCamera, WallLayout } from './types/wall';
import type { AuditEntry, AuthorizationLine, ExportRecord, LegalHold, PurgeRecord, Requisition } from './types/export';

export class ApiFailure extends Error {
  constructor(
    message: string,
    readonly status = 0,
  ) {
    super(message);
  }
}

/** The session's anti-CSRF token, sent in `X-CSRF-Token` on every POST. */
let csrf = '';
/** Called when the hub says the session is over (401): the console asks to sign in again. */
let onSignedOut: (() => void) | null = null;

export function setCsrf(token: string | undefined): void {
  csrf = token ?? '';
}

export function whenSignedOut(f: () => void): void {
  onSignedOut = f;
}

/** A citizen report (`POST /api/v1/reports`); the hub strips the photo's metadata. */
export interface ReportRequest {
  category: string;
  description: string;
  lon: number;
  lat: number;
  uncertainty_m?: number;
  photo?: { media_type: string; data_base64: string };
}

export async function req<T>(method: string, path: string, body?: unknown, ndjson = false): Promise<T> {
  const init: RequestInit = { method, headers: {}, credentials: 'same-origin' };
  if (method !== 'GET' && csrf) (init.headers as Record<string, string>)['X-CSRF-Token'] = csrf;
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
  if (r.status === 401 && path !== '/api/v1/login' && path !== '/api/v1/me' && onSignedOut) onSignedOut();
  if (!r.ok && !(ndjson && data && data.results)) {
    throw new ApiFailure(data?.error?.message ?? `${r.status} ${r.statusText}`, r.status);
  }
  return data as T;
}

export const api = {
  me: () => req<Me>('GET', '/api/v1/me'),
  login: (username: string, password: string) => req<Me>('POST', '/api/v1/login', { username, password }),
  logout: () => req<null>('POST', '/api/v1/logout'),
  changePassword: (current_password: string, new_password: string) =>
    req<Me>('POST', '/api/v1/me/password', { current_password, new_password }),
  incidents: (q = '') => req<Incident[]>('GET', `/api/v1/incidents${q}`),
  incident: (id: string) => req<IncidentDetail>('GET', `/api/v1/incidents/${encodeURIComponent(id)}`),
  act: (id: string, action: Record<string, unknown>) =>
    req<Incident>('POST', `/api/v1/incidents/${encodeURIComponent(id)}/actions`, action),
  sensors: () => req<Sensor[]>('GET', '/api/v1/sensors'),
  users: () => req<User[]>('GET', '/api/v1/users'),
  createUser: (username: string, role: Role, display_name: string) =>
    req<{ username: string; one_time_password: string }>('POST', '/api/v1/users', { username, role, display_name }),
  userAction: (username: string, action: 'reset_password' | 'disable' | 'enable') =>
    req<{ username: string; one_time_password?: string }>('POST', `/api/v1/users/${encodeURIComponent(username)}/actions`, { action }),
  tokens: () => req<Token[]>('GET', '/api/v1/tokens'),
  createToken: (label: string, sensors: string[], role: Role | null) =>
    req<Token & { token: string }>('POST', '/api/v1/tokens', role ? { label, sensors, role } : { label, sensors }),
  revokeToken: (id: string) => req<unknown>('POST', `/api/v1/tokens/${encodeURIComponent(id)}/revoke`),
  zones: () => req<FeatureCollection>('GET', '/api/v1/zones'),
  basemap: () => req<FeatureCollection>('GET', '/api/v1/basemap'),
  precision: () => req<PrecisionStats>('GET', '/api/v1/stats/precision'),
  transparency: () => req<Transparency>('GET', '/api/v1/transparency'),
  requestExport: (incident: string, requisition: Requisition, reason: string) =>
    req<ExportRecord>('POST', `/api/v1/incidents/${encodeURIComponent(incident)}/exports`, { requisition, reason }),
  exports: () => req<ExportRecord[]>('GET', '/api/v1/exports'),
  decideExport: (id: string, approve: boolean, note: string) =>
    req<ExportRecord>('POST', `/api/v1/exports/${encodeURIComponent(id)}/decision`, { approve, note }),
  authorizations: () => req<AuthorizationLine[]>('GET', '/api/v1/registers/authorizations'),
  purges: () => req<PurgeRecord[]>('GET', '/api/v1/registers/purges'),
  holds: () => req<LegalHold[]>('GET', '/api/v1/registers/holds'),
  releaseHold: (incident: string, reason: string) =>
    req<unknown>('POST', `/api/v1/registers/holds/${encodeURIComponent(incident)}/release`, { reason }),
  socialSearch: (q: string) => req<SocialResults>('GET', `/api/v1/social/search${q}`),
  health: () => req<{ social_search: boolean }>('GET', '/api/v1/health'),
  auditEntries: (q: string) => req<AuditEntry[]>('GET', `/api/v1/audit/entries${q}`),
  postReport: (r: ReportRequest) => req<{ reference: string }>('POST', '/api/v1/reports', r),
  live: () => req<LiveCamera[]>('GET', '/api/v1/live'),
  wallLayouts: () => req<WallLayout[]>('GET', '/api/v1/wall/layouts'),
  saveWallLayout: (name: string, layout: WallLayout['layout']) =>
    req<null>('PUT', `/api/v1/wall/layouts/${encodeURIComponent(name)}`, { layout }),
  deleteWallLayout: (name: string) => req<null>('DELETE', `/api/v1/wall/layouts/${encodeURIComponent(name)}`),
  postDetection: (d: Detection) => req<PostResult>('POST', '/api/v1/detections', JSON.stringify(d) + '\n', true),
};
