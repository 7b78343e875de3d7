// GET /api/v1/sensors
export type SensorType = 'camera' | 'microphone' | 'flows' | 'social' | 'citizen' | string;

export interface FieldOfView {
  heading_deg: number;
  fov_deg: number;
  range_m: number;
}

export interface SensorHealth {
  last_detection?: string | null;
  status?: string | null;
  status_at?: string | null;
}

export interface Sensor {
  id: string;
  type: SensorType;
  name?: string;
  lon?: number;
  lat?: number;
  district?: string | null;
  analytics: string[];
  field_of_view?: FieldOfView;
  health: SensorHealth | null;
  /** The legal acts naming this sensor, and whether each is in force now. */
  authorizations?: { reference: string; analytics: string[]; start: string; end: string; in_force: boolean }[];
}
