//! Evidence references: the hub stores an evidence file under its SHA-256, so a producer
//! knows the reference (`evidence/<sha256>.<ext>`) before it uploads the bytes.

use sha2::{Digest, Sha256};
use vigie_model::Evidence;

use crate::PublishError;

/// The file extension the hub's evidence store uses for a media type.
pub fn extension_for(media_type: &str) -> Result<&'static str, PublishError> {
    Ok(match media_type {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "audio/wav" => "wav",
        "video/mp4" => "mp4",
        "application/json" => "json",
        other => return Err(PublishError::EvidenceType { media_type: other.to_owned() }),
    })
}

/// The contract's reference to these bytes in the hub's evidence store.
pub fn evidence_for(media_type: &str, bytes: &[u8]) -> Result<Evidence, PublishError> {
    let ext = extension_for(media_type)?;
    let digest = Sha256::digest(bytes);
    let mut sha256 = String::with_capacity(64);
    for b in digest {
        sha256.push_str(&format!("{b:02x}"));
    }
    Ok(Evidence { media_type: media_type.to_owned(), uri: format!("evidence/{sha256}.{ext}"), sha256 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_is_the_content_hash() {
        let e = evidence_for("image/jpeg", b"").unwrap();
        assert_eq!(e.sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(e.uri, format!("evidence/{}.jpg", e.sha256));
        assert!(vigie_model::detection::is_safe_relative_path(&e.uri));
        assert!(evidence_for("text/html", b"x").is_err());
    }
}
