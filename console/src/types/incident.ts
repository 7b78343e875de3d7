// GET /api/v1/incidents, GET /api/v1/incidents/{id}, SSE `incident` events
export type Priority = 'critical' | 'high' | 'medium' | 'low';
export type IncidentState = 'new' | 'acknowledged' | 'in_progress' | 'resolved' | 'closed';
export type Outcome = 'confirmed' | 'false_alarm' | 'unverifiable';

export interface Incident {
  id: string;
  rule: string;
  incident_type: string;
  title: string;
  priority: Priority;
  state: IncidentState;
  district: string | null;
  lon: number;
  lat: number;
  radius_m: number;
  opened_at: string;
  updated_at: string;
  first_seen: string;
  last_seen: string;
  detection_count: number;
  sensors: string[];
  kinds: string[];
  assignee: string | null;
  outcome: Outcome | null;
  version: number;
}

/** A history line. `actor` exists in the payload but the console never shows it. */
export interface IncidentEvent {
  incident: string;
  at: string;
  action: string;
  from_state: IncidentState;
  to_state: IncidentState;
  detail: Record<string, unknown> | null;
}

export interface IncidentDetail {
  incident: Incident;
  history: IncidentEvent[];
  detections: import('./detection').StoredDetection[];
}

export interface IncidentChange {
  type: 'incident';
  change: 'new' | 'update' | 'end';
  incident: Incident;
  cause?: string;
}
