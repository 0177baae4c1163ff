//! CRC-32 as ImageX wants it in `Content-CRC32`: the IEEE 802.3 checksum (reflected
//! polynomial `0xEDB88320`, the one of zlib and PNG), written in lower-case hex without
//! leading zeros (the official Java SDK writes it with `Long.toHexString`).

const POLYNOMIAL: u32 = 0xEDB8_8320;

/// The CRC of every byte value, computed at compile time: one lookup per input byte.
static TABLE: [u32; 256] = table();

const fn table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut byte = 0;
    while byte < 256 {
        let mut crc = byte as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ POLYNOMIAL } else { crc >> 1 };
            bit += 1;
        }
        table[byte] = crc;
        byte += 1;
    }
    table
}

/// An incremental CRC-32: feed the bytes in any number of pieces, then read the value.
///
/// ```
/// use doudian_sdk::upload::{crc32_hex, Crc32};
///
/// let mut crc = Crc32::new();
/// crc.update(b"1234");
/// crc.update(b"56789");
/// assert_eq!(crc.value(), 0xcbf4_3926);
/// assert_eq!(crc32_hex(0x0000_0abc), "abc"); // no zero padding
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crc32 {
    /// The running register, kept inverted as the algorithm defines it.
    state: u32,
}

impl Default for Crc32 {
    fn default() -> Self {
        Self::new()
    }
}

impl Crc32 {
    /// The checksum of no bytes yet.
    pub const fn new() -> Self {
        Crc32 { state: !0 }
    }

    /// Adds `bytes` to the checksum.
    pub fn update(&mut self, bytes: &[u8]) {
        let mut crc = self.state;
        for &byte in bytes {
            crc = TABLE[((crc ^ u32::from(byte)) & 0xff) as usize] ^ (crc >> 8);
        }
        self.state = crc;
    }

    /// The CRC-32 of every byte added so far.
    pub const fn value(&self) -> u32 {
        !self.state
    }
}

/// The CRC-32 of `bytes`.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = Crc32::new();
    crc.update(bytes);
    crc.value()
}

/// `value` as the `Content-CRC32` header: lower-case hex, no leading zeros (`0xabc` is
/// `"abc"`, zero is `"0"`).
pub fn crc32_hex(value: u32) -> String {
    format!("{value:x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"a"), 0xe8b7_be43);
        assert_eq!(crc32(b"The quick brown fox jumps over the lazy dog"), 0x414f_a339);
        // The PNG signature's CRC as zlib computes it.
        assert_eq!(crc32(&[0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n']), 0x7a07_09a4);
    }

    #[test]
    fn pieces_give_the_checksum_of_the_whole() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let whole = crc32(&data);
        for split in [0, 1, 255, 4096, 9_999, 10_000] {
            let mut crc = Crc32::new();
            crc.update(&data[..split]);
            crc.update(&data[split..]);
            assert_eq!(crc.value(), whole, "split at {split}");
        }
    }

    #[test]
    fn hex_is_lower_case_without_padding() {
        assert_eq!(crc32_hex(0xcbf4_3926), "cbf43926");
        assert_eq!(crc32_hex(0x0abc), "abc");
        assert_eq!(crc32_hex(0x0000_0001), "1");
        assert_eq!(crc32_hex(0), "0");
        assert_eq!(crc32_hex(0xFFFF_FFFF), "ffffffff");
        assert_eq!(crc32_hex(0x00AB_CDEF), "abcdef");
    }
}
