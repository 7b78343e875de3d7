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
///
/// Strict on purpose, because `vigie export verify` vouches for what any unzip tool will
/// then extract: the archive must end with its end record, its central directory (what
/// unzip tools read) must list exactly the local entries, in order and back to back, with
/// the same names, sizes and CRCs, and no two entries may share a name. Any other archive
/// could show one content to the checker and another to the person who opens it.
pub fn read(archive: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    const END_LEN: usize = 22;
    let bad = |what: String| format!("not a Vigie package archive: {what}");
    let end = archive.len().checked_sub(END_LEN).ok_or_else(|| bad("too short".into()))?;
    if u32_at(archive, end) != Some(END) {
        return Err(bad("it does not end with a ZIP end record (comment or trailing bytes?)".into()));
    }
    let field16 = |i: usize| u16_at(archive, i).unwrap_or(u16::MAX);
    let (disk, cd_disk, here, count) = (field16(end + 4), field16(end + 6), field16(end + 8), field16(end + 10));
    let cd_size = u32_at(archive, end + 12).unwrap_or(u32::MAX) as usize;
    let cd_offset = u32_at(archive, end + 16).unwrap_or(u32::MAX) as usize;
    if disk != 0 || cd_disk != 0 || here != count {
        return Err(bad("a multi-disk archive".into()));
    }
    if cd_offset.checked_add(cd_size) != Some(end) {
        return Err(bad("its central directory does not end where the end record begins".into()));
    }
    let mut out: Vec<(String, Vec<u8>)> = Vec::with_capacity(count as usize);
    let mut names = std::collections::HashSet::new();
    let (mut c, mut next_local) = (cd_offset, 0usize);
    for n in 0..count {
        let at = |what: &str| bad(format!("central entry {n}: {what}"));
        if u32_at(archive, c) != Some(CENTRAL) {
            return Err(at("missing"));
        }
        let method = u16_at(archive, c + 10).ok_or_else(|| at("truncated"))?;
        let crc = u32_at(archive, c + 16).ok_or_else(|| at("truncated"))?;
        let packed = u32_at(archive, c + 20).ok_or_else(|| at("truncated"))? as usize;
        let size = u32_at(archive, c + 24).ok_or_else(|| at("truncated"))? as usize;
        let name_len = u16_at(archive, c + 28).ok_or_else(|| at("truncated"))? as usize;
        let extra_len = u16_at(archive, c + 30).ok_or_else(|| at("truncated"))? as usize;
        let comment_len = u16_at(archive, c + 32).ok_or_else(|| at("truncated"))? as usize;
        let local = u32_at(archive, c + 42).ok_or_else(|| at("truncated"))? as usize;
        let name = archive.get(c + 46..c + 46 + name_len).ok_or_else(|| at("truncated name"))?;
        if method != 0 || packed != size {
            return Err(at("a compressed entry"));
        }
        if local != next_local {
            return Err(at("its local entry is not right after the previous one"));
        }
        // The local header must say the same as the central one.
        let l = local;
        let same = u32_at(archive, l) == Some(LOCAL)
            && u16_at(archive, l + 8) == Some(0)
            && u32_at(archive, l + 14) == Some(crc)
            && u32_at(archive, l + 18).map(|v| v as usize) == Some(size)
            && u32_at(archive, l + 22).map(|v| v as usize) == Some(size)
            && u16_at(archive, l + 26).map(|v| v as usize) == Some(name_len)
            && archive.get(l + 30..l + 30 + name_len) == Some(name);
        if !same {
            return Err(at("its local header differs from the central directory"));
        }
        let local_extra = u16_at(archive, l + 28).ok_or_else(|| at("truncated"))? as usize;
        let data_start = l + 30 + name_len + local_extra;
        let data = archive.get(data_start..data_start + size).filter(|_| data_start + size <= cd_offset);
        let data = data.ok_or_else(|| at("truncated data"))?;
        let name = String::from_utf8(name.to_vec()).map_err(|_| at("name is not UTF-8"))?;
        if name.starts_with('/')
            || name.contains('\\')
            || name.split('/').any(|p| p.is_empty() || p == "." || p == "..")
        {
            return Err(at(&format!("unsafe name {name:?}")));
        }
        if !names.insert(name.clone()) {
            return Err(at(&format!("{name} appears twice")));
        }
        if crc32fast::hash(data) != crc {
            return Err(format!("{name}: CRC mismatch (damaged archive)"));
        }
        out.push((name, data.to_vec()));
        next_local = data_start + size;
        c += 46 + name_len + extra_len + comment_len;
    }
    if next_local != cd_offset || c != end {
        return Err(bad("bytes between the entries and the central directory, or after it".into()));
    }
    if out.is_empty() {
        return Err(bad("no entries".into()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        "2026-11-22T21:30:06Z".parse().unwrap()
    }

    #[test]
    fn refuses_an_archive_that_shows_unzip_another_content() {
        let good = vec![("manifest.json".to_owned(), b"{}".to_vec()), ("evidence/a.jpg".to_owned(), b"real".to_vec())];
        // Two archives glued together: a sequential reader sees the first one's entries,
        // unzip the second's central directory.
        let evil = vec![("evidence/a.jpg".to_owned(), b"fake".to_vec())];
        let mut glued = write(&good, at()).unwrap();
        glued.extend(write(&evil, at()).unwrap());
        assert!(read(&glued).is_err());
        // The same name twice.
        let twice = vec![("a".to_owned(), b"1".to_vec()), ("a".to_owned(), b"2".to_vec())];
        assert!(read(&write(&twice, at()).unwrap()).unwrap_err().contains("twice"));
        // A name that climbs out of the folder it is extracted to.
        let climb = vec![("../x".to_owned(), b"1".to_vec())];
        assert!(read(&write(&climb, at()).unwrap()).unwrap_err().contains("unsafe"));
        // A central directory whose entry points at other bytes than its local header's.
        let mut z = write(&good, at()).unwrap();
        let cd = u32_at(&z, z.len() - 6).unwrap() as usize;
        let second_cd = cd + 46 + "manifest.json".len();
        z[second_cd + 16] ^= 0xFF; // its CRC
        assert!(read(&z).unwrap_err().contains("differs"));
    }

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
        assert!(read(&zip[..zip.len() - 1]).is_err(), "truncated");
        let mut trailing = zip.clone();
        trailing.extend_from_slice(b"PK\x05\x06 more");
        assert!(read(&trailing).is_err(), "bytes after the end record");
        // Info-ZIP's unzip (installed by scripts/test) reads and checks it too.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.zip");
        std::fs::write(&path, &zip).unwrap();
        let out = std::process::Command::new("unzip").arg("-t").arg(&path).output().expect("unzip (apt install unzip)");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    }
}
