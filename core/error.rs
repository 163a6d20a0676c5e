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
    /// Epoch seconds outside the accepted range, 1970-01-01 to 2100-01-01
    /// (see [`crate::events::check_timestamp`]): usually milliseconds,
    /// microseconds or nanoseconds given where seconds are expected. The
    /// detail serialises as text, like every other problem's.
    #[serde(serialize_with = "as_text")]
    TimestampOutOfRange(i64),
}

fn as_text<S: serde::Serializer>(v: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
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
            Problem::TimestampOutOfRange(v) => {
                write!(
                    f,
                    "{v} is outside the accepted range of epoch seconds, 0 (1970-01-01) to \
                     4102444800 (2100-01-01)"
                )?;
                // Which unit the value would be in range as, to say what to fix.
                let unit = [
                    (1_000, "milliseconds"),
                    (1_000_000, "microseconds"),
                    (1_000_000_000, "nanoseconds"),
                ]
                .into_iter()
                .find(|(per_second, _)| {
                    // 1980-01-01 to 2100-01-01 once converted: a plausible event time.
                    (315_532_800..=4_102_444_800).contains(&(v / per_second))
                });
                match unit {
                    Some((per_second, unit)) => write!(
                        f,
                        ": it looks like {unit}; divide by {per_second} to get seconds"
                    ),
                    _ => Ok(()),
                }
            }
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

/// What is wrong with an artifact file (see [`crate::artifact`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArtifactProblem {
    /// The bytes do not start with maitre's magic: another kind of file.
    /// Carries the first (up to 8) bytes found, to tell what it is instead.
    NotAnArtifact { found: Vec<u8> },
    /// A format version this build cannot read (written by a newer maitre, or
    /// a damaged header).
    UnsupportedVersion { found: u16, newest: u16 },
    /// Fewer bytes than the header says the file has: a cut-off copy or download.
    Truncated { expected: u64, got: u64 },
    /// The checksum over the whole file does not match: the bytes were altered.
    ChecksumMismatch { stored: u32, computed: u32 },
    /// The checksum matches but the structure is invalid (bad section table,
    /// unknown flavour, trailing bytes): written by a broken or foreign writer.
    Malformed { reason: String },
    /// The artifact has no section with this tag (e.g. a storefront artifact
    /// asked for customer vectors).
    MissingSection { tag: String },
    /// A section's payload does not decode as expected.
    BadSection { tag: String, reason: String },
}

impl ArtifactProblem {
    /// A short, stable code for the problem (the bindings expose it as an attribute).
    pub fn code(&self) -> &'static str {
        match self {
            ArtifactProblem::NotAnArtifact { .. } => "not_an_artifact",
            ArtifactProblem::UnsupportedVersion { .. } => "unsupported_version",
            ArtifactProblem::Truncated { .. } => "truncated",
            ArtifactProblem::ChecksumMismatch { .. } => "checksum_mismatch",
            ArtifactProblem::Malformed { .. } => "malformed",
            ArtifactProblem::MissingSection { .. } => "missing_section",
            ArtifactProblem::BadSection { .. } => "bad_section",
        }
    }
}

impl fmt::Display for ArtifactProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArtifactProblem::NotAnArtifact { found } => {
                write!(f, "not a maitre artifact (it starts with ")?;
                if found.is_empty() {
                    write!(f, "nothing: the file is empty)")
                } else {
                    write!(f, "{:?})", found.escape_ascii().to_string())
                }
            }
            ArtifactProblem::UnsupportedVersion { found, newest } => write!(
                f,
                "format version {found} is not supported (this build reads versions 1 to {newest}; \
                 a newer maitre wrote it?)"
            ),
            ArtifactProblem::Truncated { expected, got } => {
                write!(f, "truncated: {got} bytes, expected {expected}")
            }
            ArtifactProblem::ChecksumMismatch { stored, computed } => write!(
                f,
                "checksum mismatch (stored {stored:#010x}, computed {computed:#010x}): the file is corrupt"
            ),
            ArtifactProblem::Malformed { reason } => write!(f, "malformed: {reason}"),
            ArtifactProblem::MissingSection { tag } => write!(f, "no section {tag:?}"),
            ArtifactProblem::BadSection { tag, reason } => {
                write!(f, "section {tag:?} is invalid: {reason}")
            }
        }
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
    /// A file that does not exist; `hint`, when set, says how to get it.
    #[error("file not found: {}{}", path.display(), hint.as_ref().map(|h| format!(" ({h})")).unwrap_or_default())]
    FileNotFound { path: PathBuf, hint: Option<String> },
    /// An artifact that cannot be read; `path` is set when it came from a file.
    #[error("artifact{}: {problem}", path.as_ref().map(|p| format!(" {}", p.display())).unwrap_or_default())]
    Artifact {
        path: Option<PathBuf>,
        problem: ArtifactProblem,
    },
    /// Any other I/O failure, with the path it happened on.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// An [`Error::InvalidParam`] naming the parameter and why it is refused.
    pub fn param(name: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidParam {
            name: name.into(),
            reason: reason.into(),
        }
    }

    /// Wraps an I/O error with its path, turning "not found" into [`Error::FileNotFound`].
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        let path = path.into();
        if source.kind() == std::io::ErrorKind::NotFound {
            Error::FileNotFound { path, hint: None }
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
            Error::Artifact { .. } => "Artifact",
        }
    }

    pub(crate) fn artifact(problem: ArtifactProblem) -> Self {
        Error::Artifact {
            path: None,
            problem,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One value of every variant. The match has no wildcard, so adding a
    /// variant fails to compile here until it is listed, and the kinds the
    /// bindings dispatch on stay unique and spelled as documented.
    fn one_of_each() -> Vec<Error> {
        let all = vec![
            Error::BadRecord(BadRow::new(Location::Line(1), "f", Problem::Missing)),
            Error::MissingColumn {
                column: "c".into(),
                present: String::new(),
            },
            Error::param("p", "r"),
            Error::Unknown {
                what: "item",
                id: "x".into(),
            },
            Error::LengthMismatch {
                name: "n".into(),
                expected: 1,
                got: 2,
            },
            Error::NotEnoughData("d".into()),
            Error::Cancelled,
            Error::FileNotFound {
                path: PathBuf::from("f"),
                hint: None,
            },
            Error::Io {
                path: PathBuf::from("f"),
                source: std::io::Error::other("x"),
            },
            Error::artifact(ArtifactProblem::Truncated {
                expected: 2,
                got: 1,
            }),
        ];
        for e in &all {
            match e {
                Error::BadRecord(_)
                | Error::MissingColumn { .. }
                | Error::InvalidParam { .. }
                | Error::Unknown { .. }
                | Error::LengthMismatch { .. }
                | Error::NotEnoughData(_)
                | Error::Cancelled
                | Error::FileNotFound { .. }
                | Error::Io { .. }
                | Error::Artifact { .. } => {}
            }
        }
        all
    }

    #[test]
    fn kinds_are_stable_and_unique() {
        let kinds: Vec<&str> = one_of_each().iter().map(Error::kind).collect();
        assert_eq!(
            kinds,
            [
                "BadRecord",
                "MissingColumn",
                "InvalidParam",
                "Unknown",
                "LengthMismatch",
                "NotEnoughData",
                "Cancelled",
                "FileNotFound",
                "Io",
                "Artifact"
            ]
        );
    }

    #[test]
    fn artifact_messages_name_the_path_and_the_problem() {
        let e = Error::Artifact {
            path: Some(PathBuf::from("m.bin")),
            problem: ArtifactProblem::UnsupportedVersion {
                found: 9,
                newest: 1,
            },
        };
        let msg = e.to_string();
        assert!(msg.starts_with("artifact m.bin: format version 9"), "{msg}");
        let foreign = ArtifactProblem::NotAnArtifact {
            found: b"\x89PNG\r\n".to_vec(),
        };
        assert!(foreign.to_string().contains("PNG"), "{foreign}");
        assert_eq!(foreign.code(), "not_an_artifact");
    }
}
