// The register of extractions (crates/vigie-hub/src/store/registers.rs).
export interface Requisition {
  service: string;
  officer: string;
  number: string;
  date: string;
}

export type ExportStatus = 'requested' | 'approved' | 'refused' | 'expired';

export interface ExportRecord {
  id: string;
  incident_id: string;
  requisition: Requisition;
  reason: string;
  requested_by: string;
  requested_at: string;
  status: ExportStatus;
  decided_by: string | null;
  decided_at: string | null;
  decision_note: string | null;
  package_sha256: string | null;
  package_bytes: number | null;
  files: number | null;
  expires_at: string | null;
}

export interface LegalHold {
  incident_id: string;
  reason: string;
  held_by: string;
  since: string;
}

export interface PurgeRecord {
  id: string;
  at: string;
  data_class: string;
  count: number;
  detail: string;
}

export interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  action: string;
  target: string;
  detail: unknown;
}

export interface AuthorizationLine {
  reference: string;
  start: string;
  end: string;
  in_force: boolean;
  sensors: string[];
  analytics: string[];
}
