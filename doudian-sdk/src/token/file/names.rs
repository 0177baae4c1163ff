//! File names for store keys: every key gets its own name, and no key can name a path
//! outside the store's directory.

use std::fmt::Write;

use sha2::{Digest, Sha256};

/// Longest stem kept readable; longer ones are hashed. Leaves room for the longest
/// suffix (`.renew.lock`) inside the usual 255-byte limit on a file name.
const LONGEST_STEM: usize = 200;

/// The stem of `key`'s file names.
///
/// * Lowercase ASCII letters, digits, `_` and `-` stay as they are (shop ids are digits).
/// * Every other byte becomes `%XX` (uppercase hex): `/`, `\`, `.`, NUL and uppercase
///   letters too, so that no stem is `.`/`..` or holds a separator, and two keys never
///   share a name on a case-insensitive file system.
/// * The empty key is `%`; a stem longer than [`LONGEST_STEM`] becomes `%%` and the
///   SHA-256 of the key.
///
/// No two keys share a stem (short of a SHA-256 collision): every `%` of an encoded stem
/// is followed by two hex digits, so `%` alone and `%%...` only come from the last rule.
pub(super) fn stem(key: &str) -> String {
    if key.is_empty() {
        return "%".to_owned();
    }
    let mut stem = String::with_capacity(key.len());
    for byte in key.bytes() {
        if is_plain(byte) {
            stem.push(char::from(byte));
        } else {
            let _ = write!(stem, "%{byte:02X}");
        }
    }
    if stem.len() > LONGEST_STEM {
        return format!("%%{:x}", Sha256::digest(key.as_bytes()));
    }
    stem
}

/// The key whose stem is `stem`, or `None` when it cannot be told from the stem (a
/// hashed long key) or `stem` is no stem [`stem`] makes (a stray file).
pub(super) fn key_of(stem: &str) -> Option<String> {
    if stem == "%" {
        return Some(String::new());
    }
    let mut bytes = Vec::with_capacity(stem.len());
    let mut rest = stem.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        if first == b'%' {
            let hex = tail.get(..2).and_then(|h| std::str::from_utf8(h).ok())?;
            if hex.bytes().any(|b| b.is_ascii_lowercase()) {
                return None;
            }
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            rest = &tail[2..];
        } else if is_plain(first) {
            bytes.push(first);
            rest = tail;
        } else {
            return None;
        }
    }
    let key = String::from_utf8(bytes).ok()?;
    // Only the stem the key itself gets: no second spelling of a key.
    (self::stem(&key) == stem).then_some(key)
}

fn is_plain(byte: u8) -> bool {
    byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_' || byte == b'-'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shop_ids_and_plain_keys_keep_their_name() {
        assert_eq!(stem("4463798"), "4463798");
        assert_eq!(stem("a_b-c"), "a_b-c");
    }

    #[test]
    fn other_bytes_are_escaped_so_no_stem_leaves_the_directory() {
        assert_eq!(stem("../x"), "%2E%2E%2Fx");
        assert_eq!(stem("a/b"), "a%2Fb");
        assert_eq!(stem("a\\b"), "a%5Cb");
        assert_eq!(stem("."), "%2E");
        assert_eq!(stem("Ab"), "%41b");
        assert_eq!(stem("店"), "%E5%BA%97");
        assert_eq!(stem("a\0b"), "a%00b");
        assert_eq!(stem(""), "%");
    }

    #[test]
    fn long_keys_are_hashed_to_a_bounded_name() {
        let just_fits = "a".repeat(LONGEST_STEM);
        assert_eq!(stem(&just_fits), just_fits);
        let long = "a".repeat(LONGEST_STEM + 1);
        let hashed = stem(&long);
        assert!(hashed.starts_with("%%") && hashed.len() == 66, "{hashed}");
        assert_ne!(hashed, stem(&"a".repeat(LONGEST_STEM + 2)));
        // 67 escaped bytes are 201 characters: hashed as well.
        assert!(stem(&"/".repeat(67)).starts_with("%%"));
        assert_eq!(stem(&"/".repeat(66)), "%2F".repeat(66));
    }

    #[test]
    fn a_stem_gives_back_its_key_unless_it_was_hashed() {
        for key in ["4463798", "a_b-c", "../x", "a/b", "Ab", "店", "a\0b", "", "%", "%%", "a.json"] {
            assert_eq!(key_of(&stem(key)).as_deref(), Some(key), "{key:?}");
        }
        assert_eq!(key_of(&stem(&"a".repeat(LONGEST_STEM + 1))), None, "hashed: not reversible");
        for stray in ["A", "%4", "%zz", "%4a", "a.b", "%FF"] {
            assert_eq!(key_of(stray), None, "{stray:?} is no stem of a key");
        }
    }

    #[test]
    fn distinct_keys_get_distinct_stems() {
        let keys = ["", "%", "%%", "%25", "a", "A", "a.b", "a%2Eb", "../x", "..%2Fx", "店", "%E5%BA%97"];
        let stems: std::collections::BTreeSet<_> = keys.iter().map(|k| stem(k)).collect();
        assert_eq!(stems.len(), keys.len(), "{stems:?}");
    }
}
