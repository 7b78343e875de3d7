// GET /api/v1/stats/precision
export interface PrecisionRow {
  resolved: number;
  confirmed: number;
  false_alarm: number;
  unverifiable: number;
  precision: number | null;
}

export interface PrecisionStats {
  incidents: number;
  overall: PrecisionRow;
  by_kind: Record<string, PrecisionRow>;
  by_sensor: Record<string, PrecisionRow>;
}
