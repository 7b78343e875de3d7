//! The machine: who runs the tests, where the server binaries are, and small
//! helpers to run commands and read logs.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::TestkitError;

/// Environment variables of libpq and the server that could point a command at
/// another server than ours (the machine's own, say).
const PG_ENV: &[&str] = &[
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGDATABASE",
    "PGUSER",
    "PGPASSWORD",
    "PGPASSFILE",
    "PGSERVICE",
    "PGSERVICEFILE",
    "PGOPTIONS",
    "PGSSLMODE",
    "PGDATA",
    "PGCLUSTER",
    "PGSYSCONFDIR",
];

/// Whether the effective user is root (read once with `id -u`).
pub(crate) fn is_root() -> bool {
    static ROOT: OnceLock<bool> = OnceLock::new();
    *ROOT.get_or_init(|| {
        Command::new("id")
            .arg("-u")
            .output()
            .map(|out| out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "0")
            .unwrap_or(false)
    })
}

/// Fails with [`TestkitError::MissingUser`] unless the system user exists.
pub(crate) fn require_user(user: &str, package: &str) -> Result<(), TestkitError> {
    let exists = Command::new("id")
        .arg("-u")
        .arg(user)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|status| status.success())
        .unwrap_or(false);
    if exists { Ok(()) } else { Err(TestkitError::MissingUser { user: user.into(), package: package.into() }) }
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|candidate| is_executable(candidate))
}

/// Finds `name` at one of `candidates`, else on `PATH`.
pub(crate) fn find_program(name: &str, candidates: &[&str], package: &str) -> Result<PathBuf, TestkitError> {
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|candidate| is_executable(candidate))
        .or_else(|| on_path(name))
        .ok_or_else(|| TestkitError::MissingBinary {
            program: name.into(),
            looked_in: candidates.iter().copied().chain(std::iter::once("PATH")).collect::<Vec<_>>().join(", "),
            package: package.into(),
        })
}

/// The directory holding PostgreSQL's server programs (`initdb`, `postgres`,
/// `pg_isready`, `psql`).
///
/// In order: `$VIGIE_PG_BINDIR`; the highest version under
/// `/usr/lib/postgresql/*/bin` (Debian, where these are not on `PATH`);
/// `pg_config --bindir`; the directory of `initdb` on `PATH`.
pub(crate) fn postgres_bindir() -> Result<PathBuf, TestkitError> {
    static BINDIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    let found = BINDIR.get_or_init(|| {
        let complete = |dir: &Path| {
            ["initdb", "postgres", "pg_isready", "psql"].iter().all(|program| is_executable(&dir.join(program)))
        };
        if let Some(dir) = std::env::var_os("VIGIE_PG_BINDIR").map(PathBuf::from)
            && complete(&dir)
        {
            return Some(dir);
        }
        let mut versions: Vec<(Vec<u32>, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                let version: Option<Vec<u32>> = name.split('.').map(|part| part.parse().ok()).collect();
                Some((version?, entry.path().join("bin")))
            })
            .filter(|(_, dir)| complete(dir))
            .collect();
        versions.sort();
        if let Some((_, dir)) = versions.pop() {
            return Some(dir);
        }
        if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
            let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            if out.status.success() && complete(&dir) {
                return Some(dir);
            }
        }
        on_path("initdb").and_then(|initdb| initdb.parent().map(Path::to_path_buf)).filter(|dir| complete(dir))
    });
    found.clone().ok_or_else(|| TestkitError::MissingBinary {
        program: "initdb, postgres, pg_isready and psql".into(),
        looked_in: "$VIGIE_PG_BINDIR, /usr/lib/postgresql/*/bin, pg_config --bindir, PATH".into(),
        package: "postgresql".into(),
    })
}

/// Removes libpq's environment from a command so that it reaches our server.
pub(crate) fn clear_pg_env(cmd: &mut Command) -> &mut Command {
    for var in PG_ENV {
        cmd.env_remove(var);
    }
    cmd
}

/// The command line, for error messages.
pub(crate) fn command_line(cmd: &Command) -> String {
    std::iter::once(cmd.get_program()).chain(cmd.get_args()).map(quote).collect::<Vec<_>>().join(" ")
}

fn quote(word: &OsStr) -> String {
    let word = word.to_string_lossy();
    let plain = !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+%".contains(c));
    if plain { word.into_owned() } else { format!("'{}'", word.replace('\'', r"'\''")) }
}

/// Runs a command to completion; its stdout on success, else
/// [`TestkitError::CommandFailed`] with everything it printed.
pub(crate) fn run(cmd: &mut Command) -> Result<String, TestkitError> {
    let line = command_line(cmd);
    let out = cmd.stdin(Stdio::null()).output().map_err(|err| TestkitError::io(format!("cannot run {line}"), err))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        Err(TestkitError::CommandFailed {
            command: line,
            status: out.status,
            output: format!("{}\n{}", stdout.trim_end(), stderr.trim_end()).trim().to_owned(),
        })
    }
}

/// The last `lines` lines of each existing file, one block per file.
pub(crate) fn log_tail(files: &[&Path], lines: usize) -> String {
    let mut blocks = Vec::new();
    for file in files {
        let Ok(bytes) = fs::read(file) else { continue };
        let text = String::from_utf8_lossy(&bytes);
        let all: Vec<&str> = text.lines().collect();
        let tail = all[all.len().saturating_sub(lines)..].join("\n");
        if !tail.trim().is_empty() {
            blocks.push(if files.len() > 1 { format!("--- {} ---\n{tail}", file.display()) } else { tail });
        }
    }
    if blocks.is_empty() { "(empty)".into() } else { blocks.join("\n") }
}

/// What a log file got after its first `start` bytes.
pub(crate) fn log_since(file: &Path, start: u64) -> String {
    let bytes = fs::read(file).unwrap_or_default();
    let start = usize::try_from(start).unwrap_or(usize::MAX).min(bytes.len());
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

/// Sends a signal by name (`QUIT`, `TERM`, …) to a process; errors are ignored
/// because the process may already be gone.
pub(crate) fn signal(pid: u32, name: &str) {
    let _ = Command::new("kill")
        .arg("-s")
        .arg(name)
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Gives a directory tree to a system user.
pub(crate) fn chown_tree(dir: &Path, user: &str) -> Result<(), TestkitError> {
    run(Command::new("chown").arg("-R").arg(format!("{user}:")).arg(dir)).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_program_names_its_package() {
        let err =
            find_program("vigie-no-such-program", &["/nonexistent/vigie-no-such-program"], "vigie-pkg").unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, TestkitError::MissingBinary { .. }));
        assert!(text.contains("`vigie-no-such-program` not found"), "{text}");
        assert!(text.contains("/nonexistent/vigie-no-such-program, PATH"), "{text}");
        assert!(text.contains("Debian package `vigie-pkg`"), "{text}");
    }

    #[test]
    fn a_failed_command_reports_its_line_and_output() {
        let err = run(Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"])).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("sh -c 'echo out; echo err >&2; exit 3'"), "{text}");
        assert!(text.contains("out\nerr"), "{text}");
        assert!(text.contains("exit status: 3"), "{text}");
    }

    #[test]
    fn log_tail_keeps_the_last_lines() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("log");
        fs::write(&file, "1\n2\n3\n4\n").unwrap();
        assert_eq!(log_tail(&[&file], 2), "3\n4");
        assert_eq!(log_tail(&[&dir.path().join("none")], 2), "(empty)");
        assert_eq!(log_since(&file, 4), "3\n4\n");
    }

    #[test]
    fn postgres_binaries_are_found() {
        let dir = postgres_bindir().unwrap();
        assert!(dir.join("initdb").exists(), "{}", dir.display());
    }
}
