// GET /api/v1/transparency (crates/vigie-hub/src/api/transparency.rs).
export interface TransparencyAuthorization {
  reference: string;
  start: string;
  end: string;
  in_force: boolean;
}

export interface TransparencySensor {
  id: string;
  type: string;
  name: string;
  lon: number;
  lat: number;
  district: string | null;
  analytics: { kind: string; authorizations: TransparencyAuthorization[]; in_force: boolean }[];
  detections_retention_days: number;
  evidence_retention_days: number;
}

export interface PrecisionCell {
  resolved: number;
  confirmed: number;
  false_alarm: number;
  unverifiable: number;
  precision: number | null;
}

export interface TransparencyMonth {
  month: string;
  incidents: number;
  incidents_by_type: Record<string, number>;
  precision_by_analytic: Record<string, PrecisionCell>;
  exports_requested: number;
  exports_approved: number;
  requisitions: number;
  purged: Record<string, number>;
}

export interface Transparency {
  hub: string;
  generated_at: string;
  retention: { detections_days: number; evidence_days: number; incidents_days: number; legal_max_image_days: number };
  sensors: TransparencySensor[];
  months: TransparencyMonth[];
  audit_checkpoint: { origin: string; size: number; root_hash: string; timestamp: string; key_id: string; signature: string } | null;
  export_public_key: string | null;
}
