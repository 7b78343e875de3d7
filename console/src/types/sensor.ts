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

/** A mobile sensor's position fix (`position` below, and the stream's `sensor_position`). */
export interface PositionFix {
  time: string;
  lon: number;
  lat: number;
  /** Direction the sensor faces, degrees clockwise from north. */
  heading_deg?: number;
  accuracy_m?: number;
  speed_mps?: number;
}

/** `event: sensor_position` of GET /api/v1/stream (at most once a second per sensor). */
export interface SensorPositionEvent {
  type: 'sensor_position';
  sensor: string;
  position: PositionFix;
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
  /** Its position comes from telemetry (a drone, an onboard camera); lon/lat are its home. */
  mobile?: boolean;
  /** Mobile sensors: the newest fix (absent before the first). */
  position?: PositionFix;
}
