// GET /api/v1/social/search (crates/vigie-social/src/search/mod.rs: Hit, SearchResults).
export interface SocialHit {
  id: string;
  time: string;
  text: string;
  lang: string;
  polarity: string;
  score: number;
  /** An allowlisted organisation, or the platform. Never an author. */
  source: string;
  topics: string[];
  places: string[];
  districts: string[];
}

export interface SocialResults {
  total: number;
  hits: SocialHit[];
}
