//! Config errors that point at the file, line and column of the offending value.

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: PathBuf,
    /// 1-based; 0 when the error is not about one place (a missing file).
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// The offending line of the file, for display.
    pub source_line: Option<String>,
}

impl ConfigError {
    pub fn io(path: &Path, e: &std::io::Error) -> Self {
        ConfigError {
            path: path.to_owned(),
            line: 0,
            column: 0,
            message: format!("cannot read the config: {e}"),
            source_line: None,
        }
    }

    /// An error at a byte span of the text.
    pub fn at(path: &Path, text: &str, span: Option<std::ops::Range<usize>>, message: impl Into<String>) -> Self {
        let (line, column, source_line) = match span {
            Some(span) => {
                let start = span.start.min(text.len());
                let before = &text[..start];
                let line = before.matches('\n').count() + 1;
                let line_start = before.rfind('\n').map(|p| p + 1).unwrap_or(0);
                let column = text[line_start..start].chars().count() + 1;
                let line_text = text[line_start..].lines().next().unwrap_or("").to_owned();
                (line, column, Some(line_text))
            }
            None => (0, 0, None),
        };
        ConfigError { path: path.to_owned(), line, column, message: message.into(), source_line }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}:{}: {}", self.path.display(), self.line, self.column, self.message)?;
            if let Some(l) = &self.source_line {
                write!(f, "\n{:>5} | {l}\n      | {:>width$}^", self.line, "", width = self.column.saturating_sub(1))?;
            }
            Ok(())
        } else {
            write!(f, "{}: {}", self.path.display(), self.message)
        }
    }
}

impl std::error::Error for ConfigError {}
