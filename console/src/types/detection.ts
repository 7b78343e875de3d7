// POST/GET /api/v1/detections
export interface Location {
  lon: number;
  lat: number;
  uncertainty_m?: number;
}

export interface Detection {
  id: string;
  sensor: string;
  kind: string;
  time: string;
  location: Location;
  confidence: number;
  attributes?: Record<string, unknown>;
  evidence?: Evidence[];
}

/** A small evidence item in the hub's store (`evidence/<sha256>.<ext>`). */
export interface Evidence {
  media_type: string;
  uri: string;
  sha256: string;
}

export interface StoredDetection extends Detection {
  received_at: string;
  incident: string | null;
}

export interface PostResult {
  accepted: number;
  duplicate: number;
  refused: number;
  failed: number;
  results: { line: number; id?: string; status: string; reason?: string; detail?: string }[];
}
