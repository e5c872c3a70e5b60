//! UTF-8: an incremental validator that fails at the first invalid sequence, and
//! [`Utf8Bytes`], a cheaply cloneable string backed by [`Bytes`].

use std::fmt;
use std::ops::Deref;

use bytes::Bytes;

/// Validates UTF-8 that arrives in pieces, such as the frames of a text message or the reads
/// of one frame. A code point split between pieces is carried over; anything that can no
/// longer become valid UTF-8 fails at once (Autobahn 6.4.x checks this).
#[derive(Clone, Debug, Default)]
pub(crate) struct Utf8Validator {
    /// The start of a code point that the last piece cut off: a valid prefix, 1 to 3 bytes.
    partial: [u8; 4],
    partial_len: u8,
}

/// The input is not, and cannot become, valid UTF-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct InvalidUtf8;

impl Utf8Validator {
    /// Checks the next piece.
    pub(crate) fn feed(&mut self, mut input: &[u8]) -> Result<(), InvalidUtf8> {
        if self.partial_len > 0 {
            let have = usize::from(self.partial_len);
            let need = char_width(self.partial[0]);
            let take = (need - have).min(input.len());
            self.partial[have..have + take].copy_from_slice(&input[..take]);
            input = &input[take..];
            let have = have + take;
            match simdutf8::compat::from_utf8(&self.partial[..have]) {
                Ok(_) => self.partial_len = 0,
                Err(e) if e.error_len().is_none() => {
                    // Still a valid prefix, and `input` is exhausted.
                    self.partial_len = have as u8;
                    return Ok(());
                }
                Err(_) => return Err(InvalidUtf8),
            }
        }
        // Only a failure pays for locating the error.
        if is_utf8(input) {
            return Ok(());
        }
        match simdutf8::compat::from_utf8(input) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_none() => {
                let tail = &input[e.valid_up_to()..];
                self.partial[..tail.len()].copy_from_slice(tail);
                self.partial_len = tail.len() as u8;
                Ok(())
            }
            Err(_) => Err(InvalidUtf8),
        }
    }

    /// Ends the text: a code point still cut off is an error. Resets the validator.
    pub(crate) fn finish(&mut self) -> Result<(), InvalidUtf8> {
        let complete = self.partial_len == 0;
        self.partial_len = 0;
        if complete { Ok(()) } else { Err(InvalidUtf8) }
    }

    /// Forgets any partial code point.
    pub(crate) fn reset(&mut self) {
        self.partial_len = 0;
    }
}

/// Whether `input` is valid UTF-8 on its own: for a text message that arrived whole.
pub(crate) fn is_utf8(input: &[u8]) -> bool {
    // Short ASCII (most small text messages) is checked a word at a time; the SIMD validator
    // pays off for longer input.
    (input.len() < 64 && input.is_ascii()) || simdutf8::basic::from_utf8(input).is_ok()
}

/// The length of the code point a valid leading byte starts.
fn char_width(lead: u8) -> usize {
    match lead {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

/// UTF-8 text backed by [`Bytes`]: cloning and slicing share the buffer, and a received text
/// message is handed over without a copy.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Utf8Bytes(Bytes);

impl Utf8Bytes {
    /// Text from a static string, without allocating.
    pub const fn from_static(text: &'static str) -> Self {
        Self(Bytes::from_static(text.as_bytes()))
    }

    /// The text.
    #[inline]
    pub fn as_str(&self) -> &str {
        // SAFETY: every constructor of `Utf8Bytes` takes a `str`/`String` or checks the bytes
        // with `simdutf8` (see `TryFrom<Bytes>` and `Connection`, whose validator checks every
        // byte of a text message before it is wrapped), and the bytes are never mutated.
        // Validating again on each access would cost a pass over the text per call.
        #[allow(unsafe_code)]
        unsafe {
            std::str::from_utf8_unchecked(&self.0)
        }
    }

    /// The UTF-8 bytes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The underlying buffer.
    #[inline]
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// Wraps bytes that the caller has already validated.
    pub(crate) fn from_validated(bytes: Bytes) -> Self {
        debug_assert!(std::str::from_utf8(&bytes).is_ok());
        Self(bytes)
    }
}

impl Deref for Utf8Bytes {
    type Target = str;

    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Utf8Bytes {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for Utf8Bytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl From<String> for Utf8Bytes {
    fn from(text: String) -> Self {
        Self(Bytes::from(text))
    }
}

impl From<&str> for Utf8Bytes {
    fn from(text: &str) -> Self {
        Self(Bytes::copy_from_slice(text.as_bytes()))
    }
}

impl From<&String> for Utf8Bytes {
    fn from(text: &String) -> Self {
        Self::from(text.as_str())
    }
}

impl From<Utf8Bytes> for Bytes {
    fn from(text: Utf8Bytes) -> Self {
        text.0
    }
}

impl TryFrom<Bytes> for Utf8Bytes {
    type Error = std::str::Utf8Error;

    /// Checks that `bytes` are UTF-8.
    fn try_from(bytes: Bytes) -> Result<Self, Self::Error> {
        if simdutf8::basic::from_utf8(&bytes).is_err() {
            // Let std say where it broke.
            std::str::from_utf8(&bytes)?;
        }
        Ok(Self(bytes))
    }
}

impl TryFrom<Vec<u8>> for Utf8Bytes {
    type Error = std::str::Utf8Error;

    fn try_from(bytes: Vec<u8>) -> Result<Self, Self::Error> {
        Self::try_from(Bytes::from(bytes))
    }
}

impl PartialEq<str> for Utf8Bytes {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Utf8Bytes {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Utf8Bytes {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_split(bytes: &[u8], cuts: &[usize]) -> Result<(), InvalidUtf8> {
        let mut v = Utf8Validator::default();
        let mut start = 0;
        for &cut in cuts.iter().chain(std::iter::once(&bytes.len())) {
            v.feed(&bytes[start..cut])?;
            start = cut;
        }
        v.finish()
    }

    #[test]
    fn valid_text_passes_at_every_split() {
        let text = "κόσμε ∮ E⋅da = Q, 𝄞 𐍈 ascii".as_bytes();
        for a in 0..=text.len() {
            for b in a..=text.len() {
                assert_eq!(feed_split(text, &[a, b]), Ok(()), "cuts {a} {b}");
            }
        }
    }

    #[test]
    fn invalid_text_fails_at_every_split() {
        let bad: &[&[u8]] = &[
            b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited", // surrogate
            b"abc\xff",
            b"\xf4\x90\x80\x80", // above U+10FFFF
            b"\xc0\xaf",         // overlong
            b"\xe0\x80\xaf",     // overlong
            b"ab\xf0\x9f\x98",   // cut off at the end
        ];
        for bytes in bad {
            for a in 0..=bytes.len() {
                assert_eq!(
                    feed_split(bytes, &[a]),
                    Err(InvalidUtf8),
                    "{bytes:?} cut {a}"
                );
            }
        }
    }

    #[test]
    fn fails_as_soon_as_a_sequence_cannot_continue() {
        // Autobahn 6.4.1: a valid start, then bytes that break it, then more that would never
        // be seen. The second piece must fail on its own.
        let mut v = Utf8Validator::default();
        assert_eq!(v.feed("κόσμε".as_bytes()), Ok(()));
        assert_eq!(v.feed(b"\xf4\x90\x80\x80"), Err(InvalidUtf8));
        // A lead byte carried over whose continuation is wrong.
        let mut v = Utf8Validator::default();
        assert_eq!(v.feed(b"\xf0"), Ok(()));
        assert_eq!(v.feed(b"\x28"), Err(InvalidUtf8));
        // A partial sequence that can still be completed is not an error yet.
        let mut v = Utf8Validator::default();
        assert_eq!(v.feed(b"\xf0\x9f"), Ok(()));
        assert_eq!(v.feed(b"\x98"), Ok(()));
        assert_eq!(v.feed(b"\x80"), Ok(()));
        assert_eq!(v.finish(), Ok(()));
    }

    #[test]
    fn utf8_bytes_checks_its_input() {
        assert!(Utf8Bytes::try_from(Bytes::from_static(b"\xff")).is_err());
        let text = Utf8Bytes::try_from(Bytes::from_static("héllo".as_bytes())).unwrap();
        assert_eq!(text, "héllo");
        assert_eq!(text.len(), 6);
        assert_eq!(format!("{text:?}"), "\"héllo\"");
    }
}
