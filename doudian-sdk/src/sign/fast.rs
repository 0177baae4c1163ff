//! The fast path for typed requests: serde_json straight into the canonical text.
//!
//! serde_json's compact output already matches PROTOCOL.md §2.2 except for U+2028/U+2029,
//! which [`CanonicalFormatter`] escapes. Generated request structs declare their fields in
//! wire-name byte order and use `BTreeMap`, so their output is already sorted; a
//! hand-written `Request` might not be (field order, `HashMap`, `#[serde(flatten)]`, numeric
//! map keys, `RawValue`). The formatter therefore watches every object's keys as they go by
//! and reports whether the text must be re-canonicalised. The watch costs one copy of each
//! key's (decoded) bytes into a reused buffer; re-canonicalising happens only for such
//! unusual types. (Comparing keys in place in a buffer shared with the writer through a
//! `RefCell` avoids the copy but measured slower: every write pays for the borrow.)

use std::io;

use serde_json::ser::{CharEscape, CompactFormatter, Formatter};

/// What the formatter learned while writing.
#[derive(Debug, Default)]
pub(crate) struct KeyWatch {
    /// The previous key of each open object, by object nesting depth.
    previous: Vec<Vec<u8>>,
    /// Open objects.
    depth: usize,
    /// The key being written, decoded.
    current: Vec<u8>,
    in_key: bool,
    first_key: bool,
    /// Set when some object's keys are not strictly ascending by bytes, or when text the
    /// formatter cannot see through (a raw fragment, a non-string key) was written.
    pub(crate) needs_canonicalising: bool,
}

/// serde_json formatter: compact, U+2028/U+2029 escaped, keys watched.
pub(crate) struct CanonicalFormatter<'w> {
    pub(crate) watch: &'w mut KeyWatch,
}

fn write_fragment<W: ?Sized + io::Write>(writer: &mut W, fragment: &str) -> io::Result<()> {
    let bytes = fragment.as_bytes();
    if !bytes.contains(&0xE2) {
        // Almost every fragment: no U+2028/U+2029 possible.
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
        if self.watch.in_key {
            self.watch.current.extend_from_slice(fragment.as_bytes());
        }
        write_fragment(writer, fragment)
    }

    fn write_char_escape<W: ?Sized + io::Write>(&mut self, writer: &mut W, char_escape: CharEscape) -> io::Result<()> {
        if self.watch.in_key {
            let byte = match char_escape {
                CharEscape::Quote => b'"',
                CharEscape::ReverseSolidus => b'\\',
                CharEscape::Solidus => b'/',
                CharEscape::Backspace => 0x08,
                CharEscape::FormFeed => 0x0c,
                CharEscape::LineFeed => b'\n',
                CharEscape::CarriageReturn => b'\r',
                CharEscape::Tab => b'\t',
                CharEscape::AsciiControl(byte) => byte,
            };
            self.watch.current.push(byte);
        }
        CompactFormatter.write_char_escape(writer, char_escape)
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.watch.depth += 1;
        if self.watch.previous.len() < self.watch.depth {
            self.watch.previous.push(Vec::new());
        }
        CompactFormatter.begin_object(writer)
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.watch.depth -= 1;
        CompactFormatter.end_object(writer)
    }

    fn begin_object_key<W: ?Sized + io::Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        if !self.watch.needs_canonicalising {
            self.watch.in_key = true;
            self.watch.first_key = first;
            self.watch.current.clear();
        }
        CompactFormatter.begin_object_key(writer, first)
    }

    fn end_object_key<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        let watch = &mut *self.watch;
        if watch.in_key {
            watch.in_key = false;
            // `depth >= 1` inside any object; the guard keeps a misbehaving caller from panicking.
            if let Some(previous) = watch.depth.checked_sub(1).and_then(|d| watch.previous.get_mut(d)) {
                if !watch.first_key && watch.current <= *previous {
                    watch.needs_canonicalising = true;
                }
                std::mem::swap(previous, &mut watch.current);
            } else {
                watch.needs_canonicalising = true;
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
