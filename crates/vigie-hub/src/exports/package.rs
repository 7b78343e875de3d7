//! The evidence package of an approved export, `exports/<id>.zip`:
//!
//! ```text
//! manifest.json      export, requisition, incident with history and detections, and
//!                    every file with its SHA-256 (and that of the original evidence)
//! manifest.sig       Ed25519 signature of manifest.json by the hub's export key (base64)
//! export.pub         that key (C2SP verifier key text)
//! LISEZMOI.txt       how to check the package
//! evidence/…         the files; images watermarked with the export id
//! ```

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{ExportError, Exports, watermark, zip};
use crate::store::ExportRecord;

/// What the package holds, for the register, and where it waits until the decision is
/// recorded ([`Built::publish`] or [`Built::discard`]).
pub struct Built {
    pub sha256: String,
    pub bytes: u64,
    pub files: u64,
    staged: std::path::PathBuf,
    path: std::path::PathBuf,
}

impl Built {
    /// Moves the package to `exports/<id>.zip`, once its decision is the one recorded.
    pub fn publish(self) -> Result<(), ExportError> {
        std::fs::rename(&self.staged, &self.path)
            .map_err(|err| ExportError::Package(format!("{}: {err}", self.path.display())))
    }

    /// Drops a package whose decision lost to another one.
    pub fn discard(self) {
        let _ = std::fs::remove_file(&self.staged);
    }
}

#[derive(Serialize)]
struct FileEntry {
    name: String,
    media_type: String,
    sha256: String,
    bytes: u64,
    /// The evidence file it was made from (its SHA-256 in the hub's evidence store).
    source_sha256: String,
    /// Images and the clips cut from recordings carry the export id burned in; clips a
    /// device uploaded as evidence are copied as they are.
    watermarked: bool,
    /// A clip cut from recordings: its camera, span, and the segments it was cut from (for
    /// a clip, `source_sha256` is the SHA-256 of their hashes, one per line).
    #[serde(skip_serializing_if = "Option::is_none")]
    recording: Option<RecordingSource>,
}

#[derive(Serialize)]
struct RecordingSource {
    camera: String,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
    segments: Vec<SegmentSource>,
}

#[derive(Serialize)]
struct SegmentSource {
    id: String,
    sha256: String,
}

#[derive(Serialize)]
struct Manifest<'a> {
    format: &'static str,
    hub: &'a str,
    export: &'a ExportRecord,
    incident: &'a crate::store::IncidentDetail,
    files: Vec<FileEntry>,
    /// Evidence the detections cite that the hub no longer holds (purged by retention
    /// before the requisition, or never uploaded).
    missing: Vec<String>,
}

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

const README: &str = "Vigie — paquet d'extraction sur réquisition\n\
\n\
manifest.json décrit l'extraction (réquisition, incident, détections) et donne le SHA-256 de\n\
chaque fichier de evidence/. manifest.sig est la signature Ed25519 de manifest.json par la clé\n\
d'extraction du centre, export.pub (aussi publiée sur sa page de transparence).\n\
\n\
Vérifier : vigie export verify <paquet>.zip --public-key <clé de la page de transparence>\n\
(la clé export.pub du paquet ne prouve que son intégrité, pas son origine)\n\
ou : sha256sum evidence/* (comparer au manifeste) et une vérification Ed25519 de manifest.sig.\n\
Les images et les extraits vidéo des enregistrements portent le numéro d'extraction incrusté.\n";

pub fn build(x: &Exports, e: &ExportRecord) -> Result<Built, ExportError> {
    let id = vigie_model::IncidentId::parse(&e.incident_id).map_err(|err| ExportError::Package(err.to_string()))?;
    let detail = x.store.incident(id)?.ok_or_else(|| ExportError::NotFound(format!("no incident {id}")))?;
    let mark = format!("VIGIE EXPORT {}", e.id);
    let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
    let mut files = Vec::new();
    let mut missing = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for d in &detail.detections {
        for ev in &d.detection.evidence {
            let Some(name) = ev.uri.strip_prefix("evidence/") else { continue };
            if !seen.insert(name.to_owned()) {
                continue;
            }
            let Some((media_type, bytes)) = x.evidence.as_ref().and_then(|s| s.read(name).ok()) else {
                missing.push(ev.uri.clone());
                continue;
            };
            let n = files.len() + 1;
            let (out, watermarked, ext) = if media_type.starts_with("image/") {
                let marked = watermark::watermark(media_type, &bytes, &mark).map_err(ExportError::Package)?;
                (marked, true, "jpg")
            } else {
                (bytes.clone(), false, name.rsplit('.').next().unwrap_or("bin"))
            };
            let file_name = format!("evidence/{}-{n:03}.{ext}", e.id);
            files.push(FileEntry {
                name: file_name.clone(),
                media_type: if watermarked { "image/jpeg".into() } else { media_type.to_owned() },
                sha256: hex(&out),
                bytes: out.len() as u64,
                source_sha256: hex(&bytes),
                watermarked,
                recording: None,
            });
            entries.push((file_name, out));
        }
    }
    if let Some(src) = &x.clips {
        for (camera, (from, to)) in super::clip::spans(&detail) {
            let segments = x.store.registry().segments(&camera, from, to, super::clip::MAX_SEGMENTS)?;
            if segments.is_empty() {
                continue; // not a camera, or nothing recorded then
            }
            let work = x.dir.join(format!(".clip-{}-{}", e.id, ulid::Ulid::new()));
            match super::clip::cut(src, &segments, from, to, &mark, &work) {
                Ok(clip) => {
                    let file_name = format!("evidence/{}-{:03}.mp4", e.id, files.len() + 1);
                    files.push(FileEntry {
                        name: file_name.clone(),
                        media_type: "video/mp4".into(),
                        sha256: hex(&clip.bytes),
                        bytes: clip.bytes.len() as u64,
                        source_sha256: super::clip::sources_sha256(&clip.segments),
                        watermarked: true,
                        recording: Some(RecordingSource {
                            camera: clip.camera,
                            from: clip.from,
                            to: clip.to,
                            segments: clip
                                .segments
                                .into_iter()
                                .map(|(id, sha256)| SegmentSource { id, sha256 })
                                .collect(),
                        }),
                    });
                    entries.push((file_name, clip.bytes));
                }
                Err(reason) => {
                    let _ = std::fs::remove_dir_all(&work);
                    missing.push(format!("recording/{camera} {}..{}: {reason}", from.to_rfc3339(), to.to_rfc3339()));
                }
            }
        }
    }
    let count = files.len() as u64;
    let manifest =
        Manifest { format: "vigie-export/1", hub: &x.hub_name, export: e, incident: &detail, files, missing };
    let manifest = serde_json::to_vec_pretty(&manifest).map_err(|err| ExportError::Package(err.to_string()))?;
    let signature = x.key.sign_message(&manifest);
    let [manifest_name, sig_name, key_name, readme_name] = FIXED.map(str::to_owned);
    let mut all = vec![
        (manifest_name, manifest),
        (sig_name, format!("{signature}\n").into_bytes()),
        (key_name, format!("{}\n", x.public_key()).into_bytes()),
        (readme_name, README.as_bytes().to_vec()),
    ];
    all.append(&mut entries);
    let archive = zip::write(&all, e.decided_at.unwrap_or(e.requested_at)).map_err(ExportError::Package)?;
    std::fs::create_dir_all(&x.dir).map_err(|err| ExportError::Package(err.to_string()))?;
    // One staging file per decision: two supervisors approving at once never write, or
    // remove, each other's package.
    let staged = x.dir.join(format!(".{}.{}.tmp", e.id, ulid::Ulid::new()));
    std::fs::write(&staged, &archive).map_err(|err| ExportError::Package(format!("{}: {err}", staged.display())))?;
    let path = x.package_path(&e.id);
    Ok(Built { sha256: hex(&archive), bytes: archive.len() as u64, files: count, staged, path })
}

/// The files every package holds besides its evidence.
const FIXED: [&str; 4] = ["manifest.json", "manifest.sig", "export.pub", "LISEZMOI.txt"];

/// What checking a package found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub export_id: String,
    pub files: usize,
}

/// Checks a package: the manifest's signature against `public_key` (the package's own
/// `export.pub` when none is given — which proves integrity, not origin), and every file
/// against its SHA-256 in the manifest.
pub fn verify(archive: &[u8], public_key: Option<&str>) -> Result<Checked, String> {
    let entries = zip::read(archive)?;
    let get = |name: &str| entries.iter().find(|(n, _)| n == name).map(|(_, b)| b.as_slice());
    let manifest = get("manifest.json").ok_or("no manifest.json")?;
    let sig = String::from_utf8_lossy(get("manifest.sig").ok_or("no manifest.sig")?).into_owned();
    let key_text = match public_key {
        Some(k) => k.to_owned(),
        None => String::from_utf8_lossy(get("export.pub").ok_or("no export.pub")?).into_owned(),
    };
    let key = vigie_audit::parse_vkey(&key_text).ok_or("the public key is not an Ed25519 key")?;
    if !vigie_audit::verify_message(&key, manifest, &sig) {
        return Err("the manifest's signature does not verify: altered, or signed by another key".into());
    }
    let m: serde_json::Value = serde_json::from_slice(manifest).map_err(|e| format!("manifest.json: {e}"))?;
    let listed = m["files"].as_array().ok_or("manifest.json has no files")?;
    for f in listed {
        let name = f["name"].as_str().ok_or("a file without a name")?;
        let bytes = get(name).ok_or_else(|| format!("{name} is listed but missing"))?;
        if f["sha256"].as_str() != Some(hex(bytes).as_str()) {
            return Err(format!("{name}: its SHA-256 does not match the manifest"));
        }
    }
    // Nothing but the four fixed files and those the manifest lists.
    let extra: Vec<&str> = entries
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| !FIXED.contains(n) && !listed.iter().any(|f| f["name"].as_str() == Some(n)))
        .collect();
    if !extra.is_empty() {
        return Err(format!("files not in the manifest: {extra:?}"));
    }
    Ok(Checked { export_id: m["export"]["id"].as_str().unwrap_or("").to_owned(), files: listed.len() })
}
