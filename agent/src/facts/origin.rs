//! Where a parsed configuration item came from: a host path and a 1-based line.

use std::fmt;

/// The file (host path, as the catalog names it) and 1-based line an item was read from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Origin {
    pub file: String,
    pub line: usize,
}

impl Origin {
    pub fn new(file: &str, line: usize) -> Origin {
        Origin {
            file: file.to_string(),
            line,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}
