//! What the gateway's material uploads hold: credentials handed out, store URIs waiting
//! for their bytes, the objects stored, and the materials made of them (see `imagex`).

use std::collections::HashMap;

/// An object stored by a PUT (the gateway keeps its size and checksum, not its bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredObject {
    /// The store URI, e.g. `tos-cn-i-doudiangw/0f3a…`.
    pub store_uri: String,
    /// Its size in bytes.
    pub size: u64,
    /// The CRC-32 of its bytes.
    pub crc32: u32,
    /// The file extension asked for in `open.materialToken` (with its dot; may be empty).
    pub extension: String,
}

/// A credential from `open.materialToken`, not yet exchanged for an address.
pub(crate) struct Apply {
    pub(crate) extension: String,
    pub(crate) upload_num: usize,
    pub(crate) expires_ms: u64,
}

/// A store URI handed out with its `Auth`, waiting for (or already holding) its bytes.
pub(crate) struct Slot {
    pub(crate) auth: String,
    pub(crate) extension: String,
    pub(crate) expires_ms: u64,
}

/// The upload state of a gateway.
#[derive(Default)]
pub(crate) struct Uploads {
    pub(crate) applies: HashMap<String, Apply>,
    pub(crate) slots: HashMap<String, Slot>,
    pub(crate) objects: HashMap<String, StoredObject>,
    /// Material ids by content (`crc:size`) or URL, for `need_distinct`.
    pub(crate) materials: HashMap<String, String>,
    pub(crate) next_material: u64,
}

impl Uploads {
    pub(crate) fn object(&self, store_uri: &str) -> Option<StoredObject> {
        self.objects.get(store_uri).cloned()
    }
}
