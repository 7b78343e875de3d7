//! FFmpeg's log lines (`-loglevel level+info`: each line carries `[error]`, `[warning]`…).

/// A line at level error or fatal.
pub fn is_error(line: &str) -> bool {
    line.contains("[error]") || line.contains("[fatal]")
}

/// A line at level warning, error or fatal: where decoders complain of corrupt input.
pub fn is_problem(line: &str) -> bool {
    is_error(line) || line.contains("[warning]")
}

/// `[tcp @ 0x55…] [error] Connection to tcp://… failed: Connection refused` → the message.
pub fn clean_log_line(line: &str) -> String {
    let mut s = line;
    while let Some(rest) = s.strip_prefix('[').and_then(|r| r.split_once("] ")).map(|(_, r)| r) {
        s = rest;
    }
    s.trim().chars().take(300).collect()
}

/// A URL without its credentials (`rtsp://user:pass@host` → `rtsp://***@host`), for logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => format!("{}***{}", &url[..s + 3], &url[at..]),
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_lines_and_hides_credentials() {
        assert_eq!(
            clean_log_line("[tcp @ 0x55d] [error] Connection to tcp://127.0.0.1:9 failed: Connection refused"),
            "Connection to tcp://127.0.0.1:9 failed: Connection refused"
        );
        assert_eq!(redact("rtsp://admin:secret@cam/1"), "rtsp://***@cam/1");
        assert_eq!(redact("file.mp4"), "file.mp4");
        assert!(is_error("[h264 @ 0x1] [error] error while decoding MB 3 4"));
        assert!(is_problem("[aac @ 0x1] [warning] invalid band type"));
        assert!(!is_problem("[info] Stream #0:0: Video: h264"));
    }
}
