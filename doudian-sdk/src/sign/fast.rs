//! The fast path for typed requests: serde_json straight into the canonical text.
//!
//! serde_json's compact output already matches PROTOCOL.md §2.2 except for U+2028/U+2029,
//! which [`CanonicalFormatter`] escapes. Generated request structs declare their fields in
//! wire-name byte order and use `BTreeMap`, so their output is already sorted; a
//! hand-written `Request` might not be (field order, `HashMap`, `#[serde(flatten)]`, numeric
//! map keys, `RawValue`). The formatter therefore watches every object's keys as they go by
//! and reports whether the text must be re-canonicalised.
//!
//! The watch costs no allocation and no copying: the writer and the formatter share the
//! output buffer through a `RefCell`, the formatter remembers where each object's previous
//! key lies in it and compares the new key with it in place. Keys with escapes (rare) and
//! objects nested deeper than [`WATCH_DEPTH`] are not compared but sent to the slow path.

use std::cell::RefCell;
use std::io;
use std::ops::Range;

use serde_json::ser::{CharEscape, CompactFormatter, Formatter};

/// Object nesting depth up to which keys are compared in place.
const WATCH_DEPTH: usize = 16;

/// The output buffer, shared by the writer and the formatter.
pub(crate) type Shared = RefCell<Vec<u8>>;

/// An `io::Write` appending to the shared buffer.
pub(crate) struct SharedWriter<'b>(pub(crate) &'b Shared);

impl io::Write for SharedWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.0.borrow_mut().extend_from_slice(bytes);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// What the formatter learned while writing.
#[derive(Debug, Default)]
pub(crate) struct KeyWatch {
    /// Where the previous key of each open object lies in the buffer (its text, no quotes).
    previous: [Range<usize>; WATCH_DEPTH],
    /// Open objects.
    depth: usize,
    /// Where the key being written starts (after its opening quote).
    key_start: usize,
    in_key: bool,
    first_key: bool,
    /// Set when some object's keys are not strictly ascending by bytes, or when text the
    /// formatter does not compare was written (an escaped key, a raw fragment, a
    /// non-string key, very deep nesting).
    pub(crate) needs_canonicalising: bool,
}

/// serde_json formatter: compact, U+2028/U+2029 escaped, keys watched.
pub(crate) struct CanonicalFormatter<'w> {
    pub(crate) buffer: &'w Shared,
    pub(crate) watch: &'w mut KeyWatch,
}

fn write_fragment<W: ?Sized + io::Write>(writer: &mut W, fragment: &str) -> io::Result<()> {
    let bytes = fragment.as_bytes();
    if !bytes.contains(&0xE2) {
        // Almost every fragment: no U+2028/U+2029 possible (`contains` on bytes is memchr).
        return writer.write_all(bytes);
    }
    let mut run = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == 0xE2 && bytes.get(i + 1) == Some(&0x80) {
            if let Some(&last @ (0xA8 | 0xA9)) = bytes.get(i + 2) {
                writer.write_all(&bytes[run..i])?;
                writer.write_all(if last == 0xA8 { b"\\u2028" } else { b"\\u2029" })?;
                i += 3;
                run = i;
                continue;
            }
        }
        i += 1;
    }
    writer.write_all(&bytes[run..])
}

/// Map keys that are not strings (numbers, booleans) are written through the number
/// writers; their text order need not match their `Ord`, so give up on the fast path.
macro_rules! watched_scalar {
    ($($name:ident: $ty:ty),* $(,)?) => {$(
        fn $name<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: $ty) -> io::Result<()> {
            if self.watch.in_key {
                self.watch.needs_canonicalising = true;
            }
            CompactFormatter.$name(writer, value)
        }
    )*};
}

impl Formatter for CanonicalFormatter<'_> {
    watched_scalar!(
        write_bool: bool, write_i8: i8, write_i16: i16, write_i32: i32, write_i64: i64,
        write_i128: i128, write_u8: u8, write_u16: u16, write_u32: u32, write_u64: u64,
        write_u128: u128, write_f32: f32, write_f64: f64, write_number_str: &str,
    );

    fn write_string_fragment<W: ?Sized + io::Write>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()> {
        if self.watch.in_key && fragment.as_bytes().contains(&0xE2) {
            // Maybe U+2028/U+2029, which are written escaped: not comparable in place.
            self.watch.needs_canonicalising = true;
        }
        write_fragment(writer, fragment)
    }

    fn write_char_escape<W: ?Sized + io::Write>(&mut self, writer: &mut W, char_escape: CharEscape) -> io::Result<()> {
        if self.watch.in_key {
            // Escaped text does not sort like the characters it stands for.
            self.watch.needs_canonicalising = true;
        }
        CompactFormatter.write_char_escape(writer, char_escape)
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.watch.depth += 1;
        if self.watch.depth > WATCH_DEPTH {
            self.watch.needs_canonicalising = true;
        }
        CompactFormatter.begin_object(writer)
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.watch.depth = self.watch.depth.saturating_sub(1);
        CompactFormatter.end_object(writer)
    }

    fn begin_object_key<W: ?Sized + io::Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        CompactFormatter.begin_object_key(writer, first)?;
        if !self.watch.needs_canonicalising {
            self.watch.in_key = true;
            self.watch.first_key = first;
            // The key's opening quote comes next.
            self.watch.key_start = self.buffer.borrow().len() + 1;
        }
        Ok(())
    }

    fn end_object_key<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        let watch = &mut *self.watch;
        if watch.in_key {
            watch.in_key = false;
            let buffer = self.buffer.borrow();
            // Without the closing quote, which would sort the key `ab` after `ab!`.
            let key = watch.key_start..buffer.len().saturating_sub(1).max(watch.key_start);
            match watch.depth.checked_sub(1).and_then(|d| watch.previous.get_mut(d)) {
                Some(previous) => {
                    if !watch.first_key && buffer.get(key.clone()) <= buffer.get(previous.clone()) {
                        watch.needs_canonicalising = true;
                    }
                    *previous = key;
                }
                None => watch.needs_canonicalising = true,
            }
        }
        CompactFormatter.end_object_key(writer)
    }

    fn write_raw_fragment<W: ?Sized + io::Write>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()> {
        // A `RawValue` carries caller-formatted JSON: whitespace, key order, escapes unknown.
        self.watch.needs_canonicalising = true;
        writer.write_all(fragment.as_bytes())
    }
}
