// GET /api/v1/me, POST /api/v1/login (crates/vigie-hub/src/api/session.rs).
export type Role = 'operator' | 'supervisor' | 'dpo' | 'admin';

export interface Me {
  /** `anonymous`: nobody is signed in (the other fields are empty). */
  kind: 'user' | 'token' | 'anonymous';
  username: string;
  display_name: string;
  role: Role | null;
  csrf_token?: string;
  must_change_password: boolean;
  session_expires_at?: string;
}
