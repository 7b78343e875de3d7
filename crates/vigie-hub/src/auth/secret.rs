//! Random secrets and their digests: session ids, CSRF tokens, device tokens, one-time
//! passwords. Only digests are stored; comparisons are constant-time.

use sha2::{Digest, Sha256};

/// `n` random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // The OS generator failing leaves no safe way to make a secret: stop loudly rather
    // than hand out a predictable one.
    getrandom::fill(&mut b).expect("the operating system's random generator failed");
    b
}

/// 32 random bytes, URL-safe base64 without padding (43 characters).
pub fn random_token() -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// SHA-256, lowercase hex: how session ids and token secrets are kept.
pub fn sha256_hex(s: &str) -> String {
    let d = Sha256::digest(s.as_bytes());
    let mut out = String::with_capacity(64);
    for b in d {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Equal without telling, by its timing, where two secrets first differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A one-time password: 20 characters from an alphabet without look-alikes (about 110
/// bits), grouped by 5 so that it can be read aloud and typed.
pub fn one_time_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let bytes = random_bytes::<40>();
    let mut out = String::with_capacity(23);
    let mut taken = 0;
    for b in bytes {
        // Rejection sampling keeps every character equally likely.
        if usize::from(b) >= 256 - 256 % ALPHABET.len() {
            continue;
        }
        if taken > 0 && taken % 5 == 0 {
            out.push('-');
        }
        out.push(char::from(ALPHABET[usize::from(b) % ALPHABET.len()]));
        taken += 1;
        if taken == 20 {
            return out;
        }
    }
    // 40 bytes nearly always give 20 characters; if not, draw again.
    one_time_password()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_fresh_and_well_formed() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        let p = one_time_password();
        assert_eq!(p.len(), 23, "{p}");
        assert_eq!(p.matches('-').count(), 3);
        assert_ne!(p, one_time_password());
        assert_eq!(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(constant_time_eq(b"same", b"same"));
        assert!(!constant_time_eq(b"same", b"sane"));
        assert!(!constant_time_eq(b"same", b"samey"));
    }
}
