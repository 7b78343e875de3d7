//! Passwords: Argon2id (the PHC string keeps its parameters and salt) and the policy a new
//! password must meet.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

/// Shortest password accepted (ANSSI and CNIL recommend at least 12 characters for a
/// password alone).
pub const MIN_LEN: usize = 12;
/// Longest: Argon2 takes any length, but a megabyte password is an attack, not a secret.
pub const MAX_LEN: usize = 256;

/// Hashes with Argon2id and the library's default parameters (19 MiB, 2 passes).
pub fn hash(password: &str) -> Result<String, String> {
    Argon2::default().hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(|e| e.to_string())
}

/// Checks a password against a stored PHC string.
pub fn verify(password: &str, phc: &str) -> bool {
    Argon2::default().verify_password(password.as_bytes(), phc).is_ok()
}

/// Why a new password is not acceptable, in words for the person choosing it.
pub fn check_policy(username: &str, password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_LEN {
        return Err(format!("the password must have at least {MIN_LEN} characters"));
    }
    if password.len() > MAX_LEN {
        return Err(format!("the password must have at most {MAX_LEN} bytes"));
    }
    if password.to_lowercase().contains(&username.to_lowercase()) {
        return Err("the password must not contain the user name".into());
    }
    if password.chars().collect::<std::collections::HashSet<_>>().len() < 5 {
        return Err("the password must use at least 5 different characters".into());
    }
    Ok(())
}

/// A hash to verify against when the account does not exist, so that a login for an
/// unknown name takes as long as one for a known name.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash("decoy password that matches nothing").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_salted_and_verify() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert_ne!(h, hash("correct horse battery").unwrap(), "salted");
        assert!(verify("correct horse battery", &h));
        assert!(!verify("correct horse batterY", &h));
        assert!(!verify("x", "not a phc string"));
    }

    #[test]
    fn rejects_weak_passwords() {
        assert!(check_policy("alice", "short").is_err());
        assert!(check_policy("alice", "alice-is-my-password").is_err());
        assert!(check_policy("alice", "aaaaaaaaaaaaaaaa").is_err());
        assert!(check_policy("alice", "tram-Bouffay-1789").is_ok());
    }
}
