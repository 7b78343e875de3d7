//! `vigie audit verify` on a real log folder: ok on an intact log, exit 1 naming the entry
//! when one line was changed, exit 2 when the folder does not exist.

use std::process::Command;

use vigie_audit::{Action, AuditEntry, AuditLog};

fn vigie(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vigie")).args(args).output().expect("run vigie");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn verify_accepts_an_intact_log_and_names_a_changed_entry() {
    let dir = std::env::temp_dir().join(format!("vigie-audit-cli-{}", ulid::Ulid::new()));
    {
        let mut log = AuditLog::open(&dir).unwrap();
        for batch in 0..3 {
            let entries = (0..4).map(|i| {
                AuditEntry::new(format!("op{batch}"), Action::Transition, format!("incident-{batch}-{i}"))
                    .with_detail(serde_json::json!({ "to": "acknowledged" }))
            });
            log.append_batch(entries).unwrap();
        }
    }
    let d = dir.to_str().unwrap();
    let (code, out, err) = vigie(&["audit", "verify", "--data", d]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("ok: 12 entries"), "{out}");

    // Change one actor name in the 6th line (entry 5).
    let entries = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("entries")))
        .expect("an entries file");
    let text = std::fs::read_to_string(&entries).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[5] = lines[5].replace("\"op1\"", "\"intruder\"");
    std::fs::write(&entries, lines.join("\n") + "\n").unwrap();
    let (code, out, err) = vigie(&["audit", "verify", "--data", d]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(format!("{out}{err}").contains("entry 5"), "{out}{err}");

    let (code, _, _) = vigie(&["audit", "verify", "--data", "/nonexistent/vigie-audit"]);
    assert_eq!(code, 2);
    let _ = std::fs::remove_dir_all(&dir);
}
