// GET /api/v1/live, GET /api/v1/wall/layouts

/** A camera of the hub's config and, when a recorder publishes it, its live stream. */
export interface LiveCamera {
  camera: string;
  name: string;
  publishing?: boolean;
  viewers?: number;
  masked?: boolean;
  mime?: string | null;
  last_fragment?: string | null;
}

/** A saved wall layout (the console's JSON: grid of 1, 4, 9 or 16 tiles, a camera or null per tile),
 *  or a tour (`tour`: saved layouts' names shown in turn, `dwell_s` seconds each). */
export interface WallLayout {
  name: string;
  layout: { grid?: number; tiles?: (string | null)[]; tour?: { layouts: string[]; dwell_s: number }; [k: string]: unknown };
  updated_at: string;
}
