//! The cache that the fetch scripts fill (real media, the ONNX Runtime library).

use std::path::PathBuf;

/// `$VIGIE_CACHE`, else `~/.cache/vigie`.
pub fn media_cache() -> PathBuf {
    if let Some(c) = std::env::var_os("VIGIE_CACHE") {
        return c.into();
    }
    std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default().join(".cache").join("vigie")
}
