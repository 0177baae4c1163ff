//! Lenient, lossless decoding helpers used by the generated types.
