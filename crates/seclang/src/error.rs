//! Load-time errors: every one names the file, line and column it is about.

use std::fmt;
use std::sync::Arc;

/// A position in a rules file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: Arc<str>,
    pub line: u32,
    pub column: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// Why a rule set could not be loaded: `file:line:column: what is wrong`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub location: Location,
    pub message: String,
}

impl LoadError {
    pub fn new(location: Location, message: impl Into<String>) -> Self {
        LoadError {
            location,
            message: message.into(),
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

impl std::error::Error for LoadError {}
