// GET /api/v1/zones, GET /api/v1/basemap (GeoJSON)
export interface Feature {
  type: 'Feature';
  properties: Record<string, unknown> & { id?: string; name?: string };
  geometry: { type: string; coordinates: unknown };
}

export interface FeatureCollection {
  type: 'FeatureCollection';
  features: Feature[];
}
