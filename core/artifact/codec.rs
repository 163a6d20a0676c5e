//! Little-endian encoding of section payloads.
//!
//! Every value is written at its natural width, little-endian, with no
//! alignment or padding inside a section:
//!
//! | value | bytes |
//! | --- | --- |
//! | `u8` / `i8` | 1 |
//! | `u32`, `f32` | 4 (`f32` as its IEEE-754 bits, so NaN payloads and `-0.0` survive) |
//! | `u64`, `f64` | 8 |
//! | string | `u64` byte length, then UTF-8 bytes |
//! | list of strings | `u64` count, then each string |
//! | `i64` | 8, two's complement |
//! | `f32` / `u32` / `i8` / `f64` slice | `u64` element count, then the elements |
//! | a count ([`Encoder::put_count`]) | `u64`, then the elements as the caller writes them |
//!
//! A section has no self-description: the reader must know the sequence of
//! calls the writer made. [`Decoder`] checks every length against the bytes
//! left *before* allocating, so a corrupt length fails fast instead of asking
//! for gigabytes.

use crate::error::{ArtifactProblem, Error, Result};

/// Builds one section's payload. Infallible: every value fits its encoding.
#[derive(Debug, Default, Clone)]
pub struct Encoder {
    buf: Vec<u8>,
}

impl Encoder {
    /// An empty payload.
    pub fn new() -> Self {
        Encoder::default()
    }

    /// Appends one byte.
    pub fn put_u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }

    /// Appends a `u32`, little-endian.
    pub fn put_u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// Appends a `u64`, little-endian.
    pub fn put_u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// Appends an `f32`'s bits, little-endian.
    pub fn put_f32(&mut self, v: f32) -> &mut Self {
        self.put_u32(v.to_bits())
    }

    /// Appends an `f64`'s bits, little-endian.
    pub fn put_f64(&mut self, v: f64) -> &mut Self {
        self.put_u64(v.to_bits())
    }

    /// Appends an `i64`, little-endian two's complement.
    pub fn put_i64(&mut self, v: i64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// Appends a count-prefixed `f64` slice (bits, little-endian).
    pub fn put_f64s(&mut self, v: &[f64]) -> &mut Self {
        self.put_len(v.len());
        self.buf.reserve(v.len() * 8);
        for x in v {
            self.buf.extend_from_slice(&x.to_bits().to_le_bytes());
        }
        self
    }

    /// Appends a count for a list the caller writes element by element
    /// (read back with [`Decoder::get_count`]).
    pub fn put_count(&mut self, n: usize) -> &mut Self {
        self.put_len(n);
        self
    }

    /// Appends a length-prefixed UTF-8 string.
    pub fn put_str(&mut self, s: &str) -> &mut Self {
        self.put_len(s.len());
        self.buf.extend_from_slice(s.as_bytes());
        self
    }

    /// Appends a count-prefixed list of strings.
    pub fn put_strs<S: AsRef<str>>(&mut self, items: &[S]) -> &mut Self {
        self.put_len(items.len());
        for s in items {
            self.put_str(s.as_ref());
        }
        self
    }

    /// Appends a count-prefixed `f32` slice.
    pub fn put_f32s(&mut self, v: &[f32]) -> &mut Self {
        self.put_len(v.len());
        self.buf.reserve(v.len() * 4);
        for x in v {
            self.buf.extend_from_slice(&x.to_bits().to_le_bytes());
        }
        self
    }

    /// Appends a count-prefixed `u32` slice.
    pub fn put_u32s(&mut self, v: &[u32]) -> &mut Self {
        self.put_len(v.len());
        self.buf.reserve(v.len() * 4);
        for x in v {
            self.buf.extend_from_slice(&x.to_le_bytes());
        }
        self
    }

    /// Appends a count-prefixed byte string (for payloads a section packs
    /// itself, such as varints).
    pub fn put_bytes(&mut self, v: &[u8]) -> &mut Self {
        self.put_len(v.len());
        self.buf.extend_from_slice(v);
        self
    }

    /// Appends a count-prefixed `i8` slice.
    pub fn put_i8s(&mut self, v: &[i8]) -> &mut Self {
        self.put_len(v.len());
        self.buf.extend(v.iter().map(|&x| x as u8));
        self
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The payload, ready for [`super::ArtifactWriter::section`].
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    fn put_len(&mut self, n: usize) {
        // usize → u64 is lossless on every target Rust supports (≤ 64-bit).
        self.put_u64(n as u64);
    }
}

/// Reads one section's payload back. Never panics: every read returns
/// [`Error::Artifact`] with [`ArtifactProblem::BadSection`] on short or
/// garbage input, naming the section and the byte offset.
#[derive(Debug, Clone)]
pub struct Decoder<'a> {
    bytes: &'a [u8],
    at: usize,
    tag: [u8; 4],
}

impl<'a> Decoder<'a> {
    /// A decoder over a payload. Errors name the section as `"????"`; use
    /// [`super::Artifact::decoder`] to have them name the real tag.
    pub fn new(bytes: &'a [u8]) -> Self {
        Decoder {
            bytes,
            at: 0,
            tag: *b"????",
        }
    }

    pub(crate) fn for_section(tag: [u8; 4], bytes: &'a [u8]) -> Self {
        Decoder { bytes, at: 0, tag }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.at
    }

    /// Checks that every byte was read: a longer payload than the reader
    /// expects means writer and reader disagree about the layout.
    pub fn finish(self) -> Result<()> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(self.error(format!("{n} unread bytes at the end"))),
        }
    }

    /// An error about this section, for checks a caller makes on decoded values.
    pub fn invalid(&self, reason: impl Into<String>) -> Error {
        self.error(reason.into())
    }

    /// Reads one byte.
    pub fn get_u8(&mut self) -> Result<u8> {
        Ok(self.take(1, "u8")?[0])
    }

    /// Reads a little-endian `u32`.
    pub fn get_u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array("u32")?))
    }

    /// Reads a little-endian `u64`.
    pub fn get_u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array("u64")?))
    }

    /// Reads a `u64` that counts or indexes something in memory: an error if
    /// it does not fit this machine's `usize`.
    pub fn get_usize(&mut self) -> Result<usize> {
        let v = self.get_u64()?;
        usize::try_from(v).map_err(|_| self.invalid(format!("{v} does not fit this machine")))
    }

    /// Reads a little-endian `i64`.
    pub fn get_i64(&mut self) -> Result<i64> {
        Ok(i64::from_le_bytes(self.array("i64")?))
    }

    /// Reads a count-prefixed `f64` slice.
    pub fn get_f64s(&mut self) -> Result<Vec<f64>> {
        let n = self.get_len(8, "f64 slice")?;
        let raw = self.take(n * 8, "f64 slice")?;
        Ok(raw
            .chunks_exact(8)
            .map(|c| {
                let mut b = [0u8; 8];
                b.copy_from_slice(c);
                f64::from_bits(u64::from_le_bytes(b))
            })
            .collect())
    }

    /// Reads a count written by [`Encoder::put_count`] of elements that take
    /// at least `min_size` bytes each: an error unless that many bytes are
    /// left, so the caller may allocate `count` elements.
    pub fn get_count(&mut self, min_size: usize, what: &str) -> Result<usize> {
        self.get_len(min_size.max(1), what)
    }

    /// Reads an `f32` from its bits.
    pub fn get_f32(&mut self) -> Result<f32> {
        Ok(f32::from_bits(u32::from_le_bytes(self.array("f32")?)))
    }

    /// Reads an `f64` from its bits.
    pub fn get_f64(&mut self) -> Result<f64> {
        Ok(f64::from_bits(u64::from_le_bytes(self.array("f64")?)))
    }

    /// Reads a length-prefixed UTF-8 string.
    pub fn get_str(&mut self) -> Result<String> {
        let n = self.get_len(1, "string")?;
        let at = self.at;
        let raw = self.take(n, "string")?;
        match std::str::from_utf8(raw) {
            Ok(s) => Ok(s.to_owned()),
            Err(e) => Err(self.error(format!("string at byte {at} is not UTF-8: {e}"))),
        }
    }

    /// Reads a count-prefixed list of strings.
    pub fn get_strs(&mut self) -> Result<Vec<String>> {
        // Each string takes at least its 8-byte length prefix.
        let n = self.get_len(8, "string list")?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(self.get_str()?);
        }
        Ok(out)
    }

    /// Reads a count-prefixed `f32` slice.
    pub fn get_f32s(&mut self) -> Result<Vec<f32>> {
        let n = self.get_len(4, "f32 slice")?;
        let raw = self.take(n * 4, "f32 slice")?;
        Ok(raw
            .chunks_exact(4)
            .map(|c| f32::from_bits(u32::from_le_bytes([c[0], c[1], c[2], c[3]])))
            .collect())
    }

    /// Reads a count-prefixed `u32` slice.
    pub fn get_u32s(&mut self) -> Result<Vec<u32>> {
        let n = self.get_len(4, "u32 slice")?;
        let raw = self.take(n * 4, "u32 slice")?;
        Ok(raw
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    /// Reads a count-prefixed byte string.
    pub fn get_bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.get_len(1, "byte string")?;
        self.take(n, "byte string")
    }

    /// Reads a count-prefixed `i8` slice.
    pub fn get_i8s(&mut self) -> Result<Vec<i8>> {
        let n = self.get_len(1, "i8 slice")?;
        Ok(self.take(n, "i8 slice")?.iter().map(|&b| b as i8).collect())
    }

    /// Reads an element count and checks that `count × min_size` bytes are
    /// left, so the caller can allocate `count` elements safely.
    fn get_len(&mut self, min_size: usize, what: &str) -> Result<usize> {
        let at = self.at;
        let n = self.get_u64()?;
        let fits = usize::try_from(n)
            .ok()
            .and_then(|n| n.checked_mul(min_size).map(|bytes| (n, bytes)));
        match fits {
            Some((n, bytes)) if bytes <= self.remaining() => Ok(n),
            _ => Err(self.error(format!(
                "{what} at byte {at} claims {n} elements but only {} bytes are left",
                self.remaining()
            ))),
        }
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let raw = self.take(N, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(raw);
        Ok(out)
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(self.error(format!(
                "{what} at byte {} needs {n} bytes, {} left",
                self.at,
                self.remaining()
            )));
        }
        let out = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(out)
    }

    fn error(&self, reason: String) -> Error {
        Error::artifact(ArtifactProblem::BadSection {
            tag: super::tag_name(self.tag),
            reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_value_round_trips_bit_for_bit() {
        let floats = [
            0.0f32,
            -0.0,
            1.5,
            f32::MIN_POSITIVE / 4.0, // subnormal
            f32::INFINITY,
            f32::from_bits(0x7fc0_1234), // NaN with a payload
            f32::MAX,
        ];
        let mut enc = Encoder::new();
        enc.put_u8(7)
            .put_u32(0xdead_beef)
            .put_u64(u64::MAX - 1)
            .put_f32(f32::from_bits(0xffc0_0001))
            .put_f64(-0.0)
            .put_str("crème brûlée")
            .put_strs(&["", "a", "ü"])
            .put_f32s(&floats)
            .put_u32s(&[0, 1, u32::MAX])
            .put_i8s(&[-127, 0, 127, -128]);
        let bytes = enc.into_bytes();
        let mut dec = Decoder::new(&bytes);
        assert_eq!(dec.get_u8().unwrap(), 7);
        assert_eq!(dec.get_u32().unwrap(), 0xdead_beef);
        assert_eq!(dec.get_u64().unwrap(), u64::MAX - 1);
        assert_eq!(dec.get_f32().unwrap().to_bits(), 0xffc0_0001);
        assert_eq!(dec.get_f64().unwrap().to_bits(), (-0.0f64).to_bits());
        assert_eq!(dec.get_str().unwrap(), "crème brûlée");
        assert_eq!(dec.get_strs().unwrap(), ["", "a", "ü"]);
        let back: Vec<u32> = dec
            .get_f32s()
            .unwrap()
            .iter()
            .map(|x| x.to_bits())
            .collect();
        let want: Vec<u32> = floats.iter().map(|x| x.to_bits()).collect();
        assert_eq!(back, want);
        assert_eq!(dec.get_u32s().unwrap(), [0, 1, u32::MAX]);
        assert_eq!(dec.get_i8s().unwrap(), [-127, 0, 127, -128]);
        dec.finish().unwrap();
    }

    #[test]
    fn a_huge_length_is_refused_before_allocating() {
        // 2^61 f32s would be 8 EiB; the decoder must refuse from the length alone.
        let mut enc = Encoder::new();
        enc.put_u64(1 << 61).put_u32(0);
        let bytes = enc.into_bytes();
        for read in [
            |d: &mut Decoder| d.get_f32s().map(drop),
            |d: &mut Decoder| d.get_u32s().map(drop),
            |d: &mut Decoder| d.get_i8s().map(drop),
            |d: &mut Decoder| d.get_strs().map(drop),
            |d: &mut Decoder| d.get_str().map(drop),
        ] {
            let err = read(&mut Decoder::new(&bytes)).unwrap_err();
            assert!(err.to_string().contains("claims"), "{err}");
        }
        // A count whose byte size overflows usize is refused, not wrapped.
        let bytes = Encoder::new().put_u64(u64::MAX).clone().into_bytes();
        assert!(Decoder::new(&bytes).get_f32s().is_err());
    }

    #[test]
    fn short_input_names_the_section_and_offset() {
        let mut dec = Decoder::for_section(*b"ITMV", &[1, 2, 3]);
        let err = dec.get_u32().unwrap_err();
        assert_eq!(err.kind(), "Artifact");
        let msg = err.to_string();
        assert!(msg.contains("ITMV") && msg.contains("byte 0"), "{msg}");
        // A failed read consumes nothing.
        assert_eq!(dec.remaining(), 3);
        assert!(Decoder::new(&[0xff, 0xfe]).finish().is_err());
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        let mut enc = Encoder::new();
        enc.put_u64(2);
        let mut bytes = enc.into_bytes();
        bytes.extend_from_slice(&[0xc3, 0x28]);
        assert!(Decoder::new(&bytes).get_str().is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Any sequence of reads over any bytes returns errors, never panics,
        /// and never reads past the end.
        #[test]
        fn decoding_arbitrary_bytes_never_panics(
            bytes in proptest::collection::vec(any::<u8>(), 0..256),
            ops in proptest::collection::vec(0u8..10, 1..24),
        ) {
            let mut dec = Decoder::new(&bytes);
            for op in ops {
                let before = dec.remaining();
                let ok = match op {
                    0 => dec.get_u8().is_ok(),
                    1 => dec.get_u32().is_ok(),
                    2 => dec.get_u64().is_ok(),
                    3 => dec.get_f32().is_ok(),
                    4 => dec.get_f64().is_ok(),
                    5 => dec.get_str().is_ok(),
                    6 => dec.get_strs().is_ok(),
                    7 => dec.get_f32s().is_ok(),
                    8 => dec.get_u32s().is_ok(),
                    _ => dec.get_i8s().is_ok(),
                };
                prop_assert!(dec.remaining() <= before);
                if !ok {
                    break;
                }
            }
        }
    }
}
