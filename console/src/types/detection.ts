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
