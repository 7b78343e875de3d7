//! A ZIP archive of stored (uncompressed) entries: what an evidence package is. Media is
//! already compressed, and a stored archive opens everywhere (police workstations, any
//! unzip) and can be checked file by file against the manifest. Also the reader for
//! `vigie export verify`, of archives this writer made.

use chrono::{DateTime, Datelike, Timelike, Utc};

/// ZIP's local file header signature, and the central directory's, and its end's.
const LOCAL: u32 = 0x0403_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const END: u32 = 0x0605_4b50;

fn dos_time(t: DateTime<Utc>) -> (u16, u16) {
    let time = ((t.hour() as u16) << 11) | ((t.minute() as u16) << 5) | ((t.second() as u16) / 2);
    let year = (t.year().clamp(1980, 2107) - 1980) as u16;
    let date = (year << 9) | ((t.month() as u16) << 5) | t.day() as u16;
    (time, date)
}

/// Builds a stored ZIP of `entries` (name, bytes), every entry dated `at`.
pub fn write(entries: &[(String, Vec<u8>)], at: DateTime<Utc>) -> Result<Vec<u8>, String> {
    let (time, date) = dos_time(at);
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in entries {
        let size = u32::try_from(data.len()).map_err(|_| format!("{name}: larger than 4 GiB"))?;
        let offset = u32::try_from(out.len()).map_err(|_| "archive larger than 4 GiB".to_owned())?;
        let name_len = u16::try_from(name.len()).map_err(|_| format!("{name}: name too long"))?;
        let crc = crc32fast::hash(data);
        let common = |v: &mut Vec<u8>| {
            v.extend_from_slice(&0u16.to_le_bytes()); // flags
            v.extend_from_slice(&0u16.to_le_bytes()); // method: stored
            v.extend_from_slice(&time.to_le_bytes());
            v.extend_from_slice(&date.to_le_bytes());
            v.extend_from_slice(&crc.to_le_bytes());
            v.extend_from_slice(&size.to_le_bytes());
            v.extend_from_slice(&size.to_le_bytes());
            v.extend_from_slice(&name_len.to_le_bytes());
            v.extend_from_slice(&0u16.to_le_bytes()); // extra length
        };
        out.extend_from_slice(&LOCAL.to_le_bytes());
        out.extend_from_slice(&20u16.to_le_bytes()); // version needed
        common(&mut out);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);

        central.extend_from_slice(&CENTRAL.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes()); // made by
        central.extend_from_slice(&20u16.to_le_bytes()); // needed
        common(&mut central);
        central.extend_from_slice(&0u16.to_le_bytes()); // comment length
        central.extend_from_slice(&0u16.to_le_bytes()); // disk
        central.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
        central.extend_from_slice(&0u32.to_le_bytes()); // external attributes
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let count = u16::try_from(entries.len()).map_err(|_| "too many files".to_owned())?;
    let central_offset = u32::try_from(out.len()).map_err(|_| "archive larger than 4 GiB".to_owned())?;
    let central_size = central.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&END.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&central_size.to_le_bytes());
    out.extend_from_slice(&central_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    Ok(out)
}

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(i..i + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

/// Reads the entries of a stored ZIP (as [`write`] makes them), checking each CRC.
pub fn read(archive: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut out = Vec::new();
    let mut i = 0;
    while u32_at(archive, i) == Some(LOCAL) {
        let bad = |what: &str| format!("malformed archive at byte {i}: {what}");
        let method = u16_at(archive, i + 8).ok_or_else(|| bad("header"))?;
        let crc = u32_at(archive, i + 14).ok_or_else(|| bad("header"))?;
        let size = u32_at(archive, i + 18).ok_or_else(|| bad("header"))? as usize;
        let name_len = u16_at(archive, i + 26).ok_or_else(|| bad("header"))? as usize;
        let extra_len = u16_at(archive, i + 28).ok_or_else(|| bad("header"))? as usize;
        if method != 0 {
            return Err(bad("a compressed entry (not a Vigie package)"));
        }
        let name_start = i + 30;
        let data_start = name_start + name_len + extra_len;
        let name = archive.get(name_start..name_start + name_len).ok_or_else(|| bad("name"))?;
        let data = archive.get(data_start..data_start + size).ok_or_else(|| bad("truncated data"))?;
        let name = String::from_utf8(name.to_vec()).map_err(|_| bad("name is not UTF-8"))?;
        if crc32fast::hash(data) != crc {
            return Err(format!("{name}: CRC mismatch (damaged archive)"));
        }
        out.push((name, data.to_vec()));
        i = data_start + size;
    }
    if out.is_empty() {
        return Err("not a ZIP archive".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_unzip_reads_it() {
        let at = "2026-11-22T21:30:06Z".parse().unwrap();
        let entries =
            vec![("manifest.json".to_owned(), b"{}".to_vec()), ("evidence/a.jpg".to_owned(), vec![0xFF, 0xD8, 1, 2])];
        let zip = write(&entries, at).unwrap();
        assert_eq!(read(&zip).unwrap(), entries);
        let mut damaged = zip.clone();
        let at_data = zip.windows(2).position(|w| w == [0xFF, 0xD8]).unwrap();
        damaged[at_data + 2] ^= 1;
        assert!(read(&damaged).unwrap_err().contains("CRC"));
        // Info-ZIP's unzip (installed by scripts/test) reads and checks it too.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.zip");
        std::fs::write(&path, &zip).unwrap();
        let out = std::process::Command::new("unzip").arg("-t").arg(&path).output().expect("unzip (apt install unzip)");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    }
}
