//! The one error type at the core's boundary.
//!
//! Every public function that takes outside input returns [`Result`]. The
//! bindings map these variants one-to-one onto Python exceptions and JS
//! `Error`s, so a variant's message must be complete on its own: it names the
//! row, the field and the offending value. This module depends on nothing else
//! in the crate.

use std::fmt;
use std::path::PathBuf;

/// `Result` with maitre's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where a bad record sits in its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "at", content = "n")]
pub enum Location {
    /// 1-based line number in a text file (CSV header or JSONL: the first line is 1).
    Line(usize),
    /// 0-based position in an in-memory batch (an iterator, a DataFrame, a JS array).
    Index(usize),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line(n) => write!(f, "line {n}"),
            Location::Index(n) => write!(f, "row {n}"),
        }
    }
}

/// What is wrong with one field of one record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "problem", content = "detail")]
pub enum Problem {
    /// The field is absent.
    Missing,
    /// The field is present but empty (or only whitespace).
    Empty,
    /// The kind is not registered in the log's [`crate::events::EventKinds`].
    UnknownKind(String),
    /// A number that is NaN or infinite.
    NotFinite(String),
    /// A value that does not parse as a number.
    NotANumber(String),
    /// A timestamp that is neither epoch seconds nor RFC 3339.
    BadTimestamp(String),
    /// The record itself is malformed (bad JSON, wrong number of CSV fields, …).
    Malformed(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Missing => write!(f, "is missing"),
            Problem::Empty => write!(f, "is empty"),
            Problem::UnknownKind(k) => write!(f, "unknown event kind {k:?}"),
            Problem::NotFinite(v) => write!(f, "{v} is not a finite number"),
            Problem::NotANumber(v) => write!(f, "{v:?} is not a number"),
            Problem::BadTimestamp(v) => write!(
                f,
                "{v:?} is not a timestamp (epoch seconds or RFC 3339, e.g. 2024-05-01T12:00:00Z)"
            ),
            Problem::Malformed(why) => write!(f, "is malformed: {why}"),
        }
    }
}

/// One bad field of one record: where it is, which field, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BadRow {
    /// Where the record sits in its input.
    pub location: Location,
    /// The field (column or JSON key) at fault.
    pub field: String,
    /// What is wrong with it.
    pub problem: Problem,
}

impl BadRow {
    pub(crate) fn new(location: Location, field: impl Into<String>, problem: Problem) -> Self {
        BadRow {
            location,
            field: field.into(),
            problem,
        }
    }
}

impl fmt::Display for BadRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: field `{}` {}",
            self.location, self.field, self.problem
        )
    }
}

impl From<BadRow> for Error {
    fn from(row: BadRow) -> Self {
        Error::BadRecord(row)
    }
}

/// Everything that can go wrong in maitre.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// One record of an input is bad. Nothing of its batch was kept (unless the
    /// caller asked to skip bad rows, in which case this is only reported).
    #[error("{0}")]
    BadRecord(BadRow),
    /// A required column is absent from a file's header or a frame.
    #[error("missing column `{column}` (columns present: {present})")]
    MissingColumn { column: String, present: String },
    /// A hyper-parameter or option is out of range.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParam { name: String, reason: String },
    /// An id the caller named is not known.
    #[error("unknown {what} {id:?}")]
    Unknown { what: &'static str, id: String },
    /// Two inputs that must agree in length or dimension do not.
    #[error("length mismatch for `{name}`: expected {expected}, got {got}")]
    LengthMismatch {
        name: String,
        expected: usize,
        got: usize,
    },
    /// There is not enough data for the operation (an empty log, a split with no test users).
    #[error("not enough data: {0}")]
    NotEnoughData(String),
    /// A long operation was stopped by its progress callback.
    #[error("cancelled by the progress callback")]
    Cancelled,
    /// A file that does not exist.
    #[error("file not found: {}", path.display())]
    FileNotFound { path: PathBuf },
    /// Any other I/O failure, with the path it happened on.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn param(name: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidParam {
            name: name.into(),
            reason: reason.into(),
        }
    }

    /// Wraps an I/O error with its path, turning "not found" into [`Error::FileNotFound`].
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        let path = path.into();
        if source.kind() == std::io::ErrorKind::NotFound {
            Error::FileNotFound { path }
        } else {
            Error::Io { path, source }
        }
    }

    /// A short, stable name for the variant; the bindings use it to pick an exception class.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::BadRecord(_) => "BadRecord",
            Error::MissingColumn { .. } => "MissingColumn",
            Error::InvalidParam { .. } => "InvalidParam",
            Error::Unknown { .. } => "Unknown",
            Error::LengthMismatch { .. } => "LengthMismatch",
            Error::NotEnoughData(_) => "NotEnoughData",
            Error::Cancelled => "Cancelled",
            Error::FileNotFound { .. } => "FileNotFound",
            Error::Io { .. } => "Io",
        }
    }
}
