//! Versioned binary artifacts: the container that models are saved in.
//!
//! An artifact is a flavour ([`Flavour::Full`] for servers and notebooks,
//! [`Flavour::Storefront`] for the browser) and a set of tagged sections of
//! bytes, sealed with a CRC-32. This module owns the container only: what goes
//! into a section is decided by the model that writes it, with [`Encoder`],
//! [`Decoder`] and [`QuantizedRows`] as helpers. It may not depend on events,
//! eval or embed: models depend on it, not the other way round.
//!
//! Reading is strict. A foreign, truncated, corrupt or newer-version file is
//! an [`Error::Artifact`] with an [`ArtifactProblem`] saying which, never a
//! panic and never a half-read model. Saving is atomic: the file at the
//! target path is either the old one or the complete new one. A symbolic link
//! is followed (its target is replaced), a replaced file keeps its mode, a new
//! full artifact is 0600 (customer data), and temporaries of interrupted saves
//! are cleaned up by the next save (see [`ArtifactWriter::save`]).
//!
//! # Layout, format version 1
//!
//! All integers little-endian. Offsets are from the start of the file.
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 8 | magic `89 4D 54 52 0D 0A 1A 0A` (`"\x89MTR\r\n\x1a\n"`) |
//! | 8 | 2 | format version, `u16` (= 1) |
//! | 10 | 1 | flavour: 1 = full, 2 = storefront |
//! | 11 | 1 | reserved, 0 |
//! | 12 | 4 | section count *n*, `u32` |
//! | 16 | 8 | total file length in bytes, `u64`, checksum included |
//! | 24 | 24 *n* | section table, one entry per section (below) |
//! | 24 + 24 *n* | … | payloads, each starting at a multiple of 8, zero padding between |
//! | length − 4 | 4 | CRC-32 (IEEE) of every preceding byte, `u32` |
//!
//! A section table entry:
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 4 | tag, four printable ASCII bytes (`0x21..=0x7E`), unique |
//! | 4 | 4 | reserved, 0 |
//! | 8 | 8 | payload offset from the start of the file, `u64` |
//! | 16 | 8 | payload length in bytes, `u64` |
//!
//! Why this shape: the magic borrows PNG's trick (a high-bit byte, CR LF, ^Z,
//! LF) so a text-mode transfer that mangles line endings or strips the high
//! bit is caught as "not an artifact" rather than as a checksum failure. The
//! version comes before everything a later version may change, so an old
//! reader can always say "version 2 is too new" instead of "corrupt". The
//! length field tells a truncated download apart from a damaged one. Payloads
//! are 8-aligned so that a later reader can view `f32` tables in place. The
//! reserved bytes leave room for per-section flags (e.g. compression) under a
//! new version.
//!
//! The reader checks, in order: magic, version, length, checksum, then the
//! structure (flavour, reserved bytes, tags, every section within the payload
//! area, no two sections overlapping, no duplicate tags). The structural checks
//! only fire for a writer that computed a valid checksum over a bad layout.
//!
//! ```
//! use maitre::artifact::{Artifact, ArtifactWriter, Decoder, Encoder, Flavour};
//!
//! let mut meta = Encoder::new();
//! meta.put_str("als").put_u32(64);
//! let bytes = ArtifactWriter::new(Flavour::Storefront)
//!     .section(*b"META", meta.into_bytes())
//!     .to_bytes()?;
//!
//! let artifact = Artifact::from_bytes(&bytes)?;
//! assert_eq!(artifact.flavour(), Flavour::Storefront);
//! let mut meta = artifact.decoder(*b"META")?;
//! assert_eq!(meta.get_str()?, "als");
//! assert_eq!(meta.get_u32()?, 64);
//! meta.finish()?;
//! // A section the artifact does not have is an error, not a panic.
//! assert!(artifact.section(*b"CUSV").is_err());
//! # Ok::<(), maitre::Error>(())
//! ```

mod codec;
mod quant;

pub use crate::error::ArtifactProblem;
pub use codec::{Decoder, Encoder};
pub use quant::QuantizedRows;

use crate::error::{Error, Result};
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// The eight bytes every artifact starts with.
pub const MAGIC: [u8; 8] = *b"\x89MTR\r\n\x1a\n";

/// The format version this build writes, and the newest it reads.
pub const FORMAT_VERSION: u16 = 1;

const HEADER_LEN: usize = 24;
const ENTRY_LEN: usize = 24;
const CHECKSUM_LEN: usize = 4;
const ALIGN: usize = 8;

/// Who an artifact is for, which decides what it may contain. The container
/// only records it; the model writing the sections keeps the promise (a
/// storefront writer leaves customer sections out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flavour {
    /// Everything, for servers and notebooks.
    Full,
    /// Item, offer and context vectors only, quantised; no customer ids or
    /// vectors. Small enough to ship to a browser.
    Storefront,
}

impl Flavour {
    fn to_byte(self) -> u8 {
        match self {
            Flavour::Full => 1,
            Flavour::Storefront => 2,
        }
    }

    fn from_byte(b: u8) -> Option<Flavour> {
        match b {
            1 => Some(Flavour::Full),
            2 => Some(Flavour::Storefront),
            _ => None,
        }
    }
}

/// Collects sections and writes them as one artifact.
#[derive(Debug, Clone)]
#[must_use]
pub struct ArtifactWriter {
    flavour: Flavour,
    sections: Vec<([u8; 4], Vec<u8>)>,
}

impl ArtifactWriter {
    /// An artifact of `flavour` with no sections yet.
    pub fn new(flavour: Flavour) -> Self {
        ArtifactWriter {
            flavour,
            sections: Vec::new(),
        }
    }

    /// Adds a section. Sections are written in the order they are added. The
    /// tag is checked by [`ArtifactWriter::to_bytes`] (printable ASCII, unique),
    /// so sections can be chained.
    pub fn section(mut self, tag: [u8; 4], bytes: Vec<u8>) -> Self {
        self.sections.push((tag, bytes));
        self
    }

    /// The artifact as bytes.
    ///
    /// Errors with [`Error::InvalidParam`] if a tag is not four printable ASCII
    /// bytes or appears twice.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let (head, total) = self.head()?;
        let mut out = Vec::with_capacity(total);
        self.emit(&head, &mut out)
            .expect("writing to a Vec cannot fail");
        debug_assert_eq!(out.len(), total);
        Ok(out)
    }

    /// Writes the artifact to `path` atomically: the bytes go to a temporary
    /// file in the same directory, which is flushed to disk and then renamed
    /// over `path`. On any error the temporary file is removed and whatever
    /// was at `path` before is untouched. Sections are streamed to the file,
    /// not assembled in memory first, so saving a large model does not need
    /// twice its size in memory.
    ///
    /// A symbolic link at `path` is followed (its target is replaced, the
    /// link stays); a replaced file keeps its permissions; a new file is
    /// created 0600 for [`Flavour::Full`] (it holds customer data) and 0644
    /// for [`Flavour::Storefront`] (both narrowed by the umask, Unix only).
    /// Temporaries left by interrupted saves to the same path are removed.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let (head, _) = self.head()?;
        let new_mode = match self.flavour {
            Flavour::Full => 0o600,
            Flavour::Storefront => 0o644,
        };
        atomic_write(path.as_ref(), new_mode, |file| {
            let mut w = std::io::BufWriter::new(file);
            self.emit(&head, &mut w)?;
            w.flush()
        })
    }

    /// Checks the tags and lays out the file: returns the header and section
    /// table, and the total length.
    fn head(&self) -> Result<(Vec<u8>, usize)> {
        for (i, (tag, _)) in self.sections.iter().enumerate() {
            if !tag_is_valid(*tag) {
                return Err(Error::param(
                    "tag",
                    format!(
                        "section tag {:?} must be four printable ASCII bytes",
                        tag.escape_ascii().to_string()
                    ),
                ));
            }
            if self.sections[..i].iter().any(|(t, _)| t == tag) {
                return Err(Error::param(
                    "tag",
                    format!("section tag {:?} appears twice", tag_name(*tag)),
                ));
            }
        }
        let count = u32::try_from(self.sections.len())
            .map_err(|_| Error::param("sections", "more than 2^32 sections"))?;
        let table_end = HEADER_LEN + ENTRY_LEN * self.sections.len();
        let mut head = Vec::with_capacity(table_end);
        head.extend_from_slice(&MAGIC);
        head.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        head.push(self.flavour.to_byte());
        head.push(0);
        head.extend_from_slice(&count.to_le_bytes());
        head.extend_from_slice(&[0; 8]); // total length, known after the table
        let mut at = table_end;
        for (tag, bytes) in &self.sections {
            at = at.next_multiple_of(ALIGN);
            head.extend_from_slice(tag);
            head.extend_from_slice(&[0; 4]);
            head.extend_from_slice(&(at as u64).to_le_bytes());
            head.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
            at += bytes.len();
        }
        let total = at + CHECKSUM_LEN;
        head[16..24].copy_from_slice(&(total as u64).to_le_bytes());
        Ok((head, total))
    }

    /// Writes `head`, the payloads with their padding, and the checksum of it all.
    fn emit(&self, head: &[u8], w: &mut impl Write) -> std::io::Result<()> {
        let mut crc = crc32fast::Hasher::new();
        let mut put = |w: &mut dyn Write, bytes: &[u8]| {
            crc.update(bytes);
            w.write_all(bytes)
        };
        put(w, head)?;
        let mut at = head.len();
        for (_, bytes) in &self.sections {
            let pad = at.next_multiple_of(ALIGN) - at;
            put(w, &[0; ALIGN][..pad])?;
            put(w, bytes)?;
            at += pad + bytes.len();
        }
        w.write_all(&crc.finalize().to_le_bytes())
    }
}

/// A validated artifact: its flavour, version and sections.
#[derive(Debug, Clone)]
pub struct Artifact {
    bytes: Vec<u8>,
    version: u16,
    flavour: Flavour,
    sections: Vec<([u8; 4], Range<usize>)>,
}

impl Artifact {
    /// Validates `bytes` and keeps a copy. See the [module docs](self) for the
    /// checks; each failure is an [`Error::Artifact`] with its problem.
    pub fn from_bytes(bytes: &[u8]) -> Result<Artifact> {
        let parsed = parse(bytes).map_err(Error::artifact)?;
        Ok(parsed.into_artifact(bytes.to_vec()))
    }

    /// Reads and validates the artifact at `path`. A missing file is
    /// [`Error::FileNotFound`]; a bad one is [`Error::Artifact`] naming `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Artifact> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        match parse(&bytes) {
            Ok(parsed) => Ok(parsed.into_artifact(bytes)),
            Err(problem) => Err(Error::Artifact {
                path: Some(path.to_path_buf()),
                problem,
            }),
        }
    }

    /// The format version the artifact was written in.
    pub fn version(&self) -> u16 {
        self.version
    }

    /// Who the artifact is for.
    pub fn flavour(&self) -> Flavour {
        self.flavour
    }

    /// The tags of all sections, in file order.
    pub fn tags(&self) -> impl Iterator<Item = [u8; 4]> + '_ {
        self.sections.iter().map(|(tag, _)| *tag)
    }

    /// Whether the artifact has a section `tag`.
    pub fn has_section(&self, tag: [u8; 4]) -> bool {
        self.sections.iter().any(|(t, _)| *t == tag)
    }

    /// The payload of section `tag`; [`ArtifactProblem::MissingSection`] if absent.
    pub fn section(&self, tag: [u8; 4]) -> Result<&[u8]> {
        self.sections
            .iter()
            .find(|(t, _)| *t == tag)
            .map(|(_, range)| &self.bytes[range.clone()])
            .ok_or_else(|| Error::artifact(ArtifactProblem::MissingSection { tag: tag_name(tag) }))
    }

    /// A [`Decoder`] over section `tag`, whose errors name the section.
    pub fn decoder(&self, tag: [u8; 4]) -> Result<Decoder<'_>> {
        Ok(Decoder::for_section(tag, self.section(tag)?))
    }
}

struct Parsed {
    version: u16,
    flavour: Flavour,
    sections: Vec<([u8; 4], Range<usize>)>,
}

impl Parsed {
    fn into_artifact(self, bytes: Vec<u8>) -> Artifact {
        Artifact {
            bytes,
            version: self.version,
            flavour: self.flavour,
            sections: self.sections,
        }
    }
}

fn parse(bytes: &[u8]) -> std::result::Result<Parsed, ArtifactProblem> {
    let got = bytes.len() as u64;
    // A prefix of the magic is a truncated artifact; anything else is foreign.
    let magic_len = bytes.len().min(MAGIC.len());
    if bytes[..magic_len] != MAGIC[..magic_len] || bytes.is_empty() {
        return Err(ArtifactProblem::NotAnArtifact {
            found: bytes[..magic_len].to_vec(),
        });
    }
    let truncated = |expected: u64| ArtifactProblem::Truncated { expected, got };
    if bytes.len() < 10 {
        return Err(truncated(HEADER_LEN as u64));
    }
    let version = u16::from_le_bytes([bytes[8], bytes[9]]);
    if version != FORMAT_VERSION {
        return Err(ArtifactProblem::UnsupportedVersion {
            found: version,
            newest: FORMAT_VERSION,
        });
    }
    if bytes.len() < HEADER_LEN {
        return Err(truncated(HEADER_LEN as u64));
    }
    let total = read_u64(bytes, 16);
    if got < total {
        return Err(truncated(total));
    }
    let malformed = |reason: String| ArtifactProblem::Malformed { reason };
    if got > total {
        // Checked before the checksum: with extra bytes, the stored checksum is
        // not where the header says, so "mismatch" would mislead.
        return Err(malformed(format!(
            "{} bytes after the end the header declares ({total} bytes)",
            got - total
        )));
    }
    if bytes.len() < HEADER_LEN + CHECKSUM_LEN {
        return Err(malformed(format!(
            "declared length {total} is shorter than a header and checksum"
        )));
    }
    let body_end = bytes.len() - CHECKSUM_LEN;
    let stored = read_u32(bytes, body_end);
    let computed = crc32fast::hash(&bytes[..body_end]);
    if stored != computed {
        return Err(ArtifactProblem::ChecksumMismatch { stored, computed });
    }

    let flavour = Flavour::from_byte(bytes[10])
        .ok_or_else(|| malformed(format!("unknown flavour byte {}", bytes[10])))?;
    if bytes[11] != 0 {
        return Err(malformed(format!("reserved header byte is {}", bytes[11])));
    }
    let count = read_u32(bytes, 12) as usize;
    let table_end = count
        .checked_mul(ENTRY_LEN)
        .and_then(|t| t.checked_add(HEADER_LEN))
        .filter(|&end| end <= body_end)
        .ok_or_else(|| {
            malformed(format!(
                "{count} sections do not fit in a file of {total} bytes"
            ))
        })?;
    let mut sections = Vec::with_capacity(count);
    for i in 0..count {
        let at = HEADER_LEN + i * ENTRY_LEN;
        let tag: [u8; 4] = [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]];
        if !tag_is_valid(tag) {
            return Err(malformed(format!(
                "section {i} has tag {:?}, not printable ASCII",
                tag.escape_ascii().to_string()
            )));
        }
        if read_u32(bytes, at + 4) != 0 {
            return Err(malformed(format!(
                "section {:?} has non-zero reserved bytes",
                tag_name(tag)
            )));
        }
        let offset = read_u64(bytes, at + 8);
        let len = read_u64(bytes, at + 16);
        let range = offset
            .checked_add(len)
            .filter(|&end| offset >= table_end as u64 && end <= body_end as u64)
            .map(|end| offset as usize..end as usize)
            .ok_or_else(|| {
                malformed(format!(
                    "section {:?} (offset {offset}, length {len}) lies outside the payload area \
                     (bytes {table_end}..{body_end})",
                    tag_name(tag)
                ))
            })?;
        if sections.iter().any(|(t, _)| *t == tag) {
            return Err(malformed(format!(
                "section {:?} appears twice",
                tag_name(tag)
            )));
        }
        sections.push((tag, range));
    }
    let mut by_offset: Vec<&([u8; 4], Range<usize>)> = sections.iter().collect();
    by_offset.sort_by_key(|(_, r)| (r.start, r.end));
    for pair in by_offset.windows(2) {
        let ((a, ra), (b, rb)) = (pair[0], pair[1]);
        if rb.start < ra.end {
            return Err(malformed(format!(
                "sections {:?} and {:?} overlap",
                tag_name(*a),
                tag_name(*b)
            )));
        }
    }
    Ok(Parsed {
        version,
        flavour,
        sections,
    })
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

fn read_u64(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(b)
}

fn tag_is_valid(tag: [u8; 4]) -> bool {
    tag.iter().all(|b| b.is_ascii_graphic())
}

/// A tag as text for messages; invalid bytes are escaped.
pub(crate) fn tag_name(tag: [u8; 4]) -> String {
    tag.escape_ascii().to_string()
}

/// Writes a file through `fill` so that `path` only ever holds the old or the
/// complete new contents.
///
/// - **Symlinks are followed**: when `path` is a symbolic link (or a chain of
///   them), the file written is its final target, atomically replaced beside
///   that target; the link itself stays. Replacing the link with a regular
///   file would silently detach it from what it pointed to (a deployment's
///   `current.bin -> v42.bin`). A dangling link's target is created. More than
///   [`MAX_SYMLINK_HOPS`] links is an [`Error::Io`] (a loop).
/// - **Permissions are kept**: replacing a file gives the new one the old
///   file's mode (a 0600 artifact stays 0600). A new file is created with
///   `new_mode` (Unix), which the process umask can only narrow: full
///   artifacts hold customer ids and histories, so they are 0600 by default.
/// - **Stale temporaries are removed**: a save interrupted by a crash or a
///   kill leaves `.<name>.<pid>-<n>.tmp` beside the target. Each save removes
///   such files of the same target whose writing process is gone (Linux, read
///   from `/proc`) or that are older than [`STALE_TEMP_AGE`].
fn atomic_write(
    path: &Path,
    new_mode: u32,
    fill: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<()> {
    let target = resolve_symlinks(path)?;
    let path = target.as_path();
    remove_stale_temps(path);
    // The mode of the file being replaced, if any, else the default for new files.
    let existing = std::fs::metadata(path)
        .ok()
        .filter(std::fs::Metadata::is_file)
        .map(|m| m.permissions());
    let (file, tmp) = create_temp_beside(path, new_mode)?;
    // The file is closed at the end of this block, before the rename:
    // Windows cannot rename a file that is still open.
    let filled = {
        let mut file = file;
        fill(&mut file)
            .and_then(|()| match existing {
                // set_permissions on the open handle: the mode is in place before
                // the name appears, so no reader ever sees a wider mode.
                Some(perms) => file.set_permissions(perms),
                None => Ok(()),
            })
            .and_then(|()| file.sync_all())
    };
    let written = filled
        .map_err(|e| Error::io(&tmp, e))
        .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e)));
    if let Err(e) = written {
        // Best effort: the original error is the one worth reporting.
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    sync_parent_dir(path);
    Ok(())
}

/// Links followed before a save gives up (Linux's own limit, `ELOOP`).
const MAX_SYMLINK_HOPS: usize = 40;

/// A temporary file older than this is stale even if a process with its
/// writer's id is running (ids are reused). An hour: far longer than saving
/// any model takes, so a live save is never disturbed.
const STALE_TEMP_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

/// The final target of `path` through any chain of symbolic links; `path`
/// itself when it is not a link or does not exist.
fn resolve_symlinks(path: &Path) -> Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_SYMLINK_HOPS {
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = std::fs::read_link(&current).map_err(|e| Error::io(&current, e))?;
                // A relative link is relative to the directory holding it.
                current = match current.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            _ => return Ok(current),
        }
    }
    Err(Error::io(
        path,
        std::io::Error::other(format!(
            "more than {MAX_SYMLINK_HOPS} symbolic links (a loop?)"
        )),
    ))
}

/// The directory `path` is in (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The temporary file name of a save to `name`: `.<name>.<pid>-<n>.tmp`.
fn temp_name(name: &std::ffi::OsStr, pid: u32, n: u64) -> std::ffi::OsString {
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{pid}-{n}.tmp"));
    tmp_name
}

/// The writer's process id if `file` is a temporary of a save to `name`.
fn temp_writer(file: &std::ffi::OsStr, name: &std::ffi::OsStr) -> Option<u32> {
    let file = file.to_str()?;
    let rest = file
        .strip_prefix('.')?
        .strip_prefix(name.to_str()?)?
        .strip_prefix('.')?
        .strip_suffix(".tmp")?;
    let (pid, n) = rest.split_once('-')?;
    n.parse::<u64>().ok()?;
    pid.parse().ok()
}

/// Removes temporaries of earlier saves to `path` whose writer is gone or
/// which are older than [`STALE_TEMP_AGE`]. Best effort: a file that cannot
/// be listed or removed is left, and the save goes on.
fn remove_stale_temps(path: &Path) {
    let Some(name) = path.file_name() else { return };
    let Ok(entries) = std::fs::read_dir(parent_dir(path)) else {
        return;
    };
    for entry in entries.flatten() {
        let Some(pid) = temp_writer(&entry.file_name(), name) else {
            continue;
        };
        let Ok(meta) = entry.metadata() else { continue };
        if !meta.is_file() {
            continue;
        }
        let old = meta
            .modified()
            .ok()
            .and_then(|m| m.elapsed().ok())
            .is_some_and(|age| age > STALE_TEMP_AGE);
        if old || writer_is_gone(pid) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Whether process `pid` is known not to run. Only Linux can tell (from
/// `/proc`); elsewhere stale temporaries go by age alone.
fn writer_is_gone(pid: u32) -> bool {
    if pid == process_tag() {
        return false;
    }
    #[cfg(target_os = "linux")]
    {
        Path::new("/proc/self").exists() && !Path::new(&format!("/proc/{pid}")).exists()
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

/// Creates a fresh file next to `path` (mode `mode` on Unix, narrowed by the
/// umask). The same directory matters: rename is only atomic within one file
/// system.
fn create_temp_beside(path: &Path, mode: u32) -> Result<(std::fs::File, PathBuf)> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .ok_or_else(|| Error::param("path", format!("{} has no file name", path.display())))?;
    let dir = parent_dir(path);
    // create_new never clobbers another writer's temporary file; on a clash
    // (or a stale file from a crash) try the next name.
    let mut last_err = None;
    for _ in 0..64 {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(temp_name(name, process_tag(), n));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
        #[cfg(not(unix))]
        let _ = mode;
        match options.open(&tmp) {
            Ok(file) => return Ok((file, tmp)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last_err = Some(e),
            Err(e) => return Err(Error::io(path, e)),
        }
    }
    Err(Error::io(
        path,
        last_err.unwrap_or_else(|| std::io::Error::other("no free temporary name")),
    ))
}

/// Separates processes saving to the same directory. `std::process::id`
/// panics on wasm32-unknown-unknown, where there is no file system anyway.
fn process_tag() -> u32 {
    #[cfg(not(all(target_family = "wasm", target_os = "unknown")))]
    {
        std::process::id()
    }
    #[cfg(all(target_family = "wasm", target_os = "unknown"))]
    {
        0
    }
}

/// Makes the rename itself durable. Only possible (and needed) on Unix;
/// failure is not reported, since the new file is already in place.
fn sync_parent_dir(path: &Path) {
    #[cfg(unix)]
    {
        if let Ok(d) = std::fs::File::open(parent_dir(path)) {
            let _ = d.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests;
