// GET /api/v1/users, /api/v1/tokens (crates/vigie-hub/src/auth/mod.rs: UserView, TokenView).
import type { Role } from './me';

export interface User {
  username: string;
  role: Role;
  display_name: string;
  must_change_password: boolean;
  disabled: boolean;
  created_at: string;
  password_changed_at: string;
}

export interface Token {
  id: string;
  label: string;
  role: Role | null;
  /** Sensors it may publish for; ["*"]: all. */
  sensors: string[];
  created_by: string;
  created_at: string;
  revoked_at: string | null;
}
