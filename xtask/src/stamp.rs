//! A warm `cargo xtask gen --check`. The generator is a pure function of its own binary and
//! the spec: when both are byte for byte what they were at the last run that left the disk
//! matching the output, it is enough to check that every generated file is still the one
//! that run produced (a hand edit, a deleted or an extra file all show). Anything else runs
//! the generator in full, which also gives the exact report.
//!
//! The stamp lives beside the xtask binary under `target/`, never in the repository, so a
//! fresh clone (CI) always runs the generator.

use std::collections::hash_map::DefaultHasher;
use std::collections::BTreeMap;
use std::fs;
use std::hash::Hasher;
use std::path::{Path, PathBuf};

/// What a full run saw: the hash of its inputs, and each output file's hash by path.
#[derive(Debug, PartialEq, Eq)]
pub struct Stamp {
    inputs: u64,
    outputs: BTreeMap<String, u64>,
}

/// The hash of bytes (SipHash with fixed keys: stable for one toolchain, which is all a
/// cache under `target/` needs).
fn hash(bytes: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    hasher.write(bytes);
    hasher.finish()
}

impl Stamp {
    /// The stamp of a run over `inputs` (the generator's identity and the spec files' text)
    /// that produced `outputs` (path relative to the root -> content).
    pub fn new<'a>(inputs: impl IntoIterator<Item = &'a [u8]>, outputs: &BTreeMap<String, String>) -> Stamp {
        Stamp {
            inputs: inputs_hash(inputs),
            outputs: outputs.iter().map(|(path, text)| (path.clone(), hash(text.as_bytes()))).collect(),
        }
    }

    /// Whether a run over `inputs` would produce exactly the files `on_disk` holds: the
    /// inputs are the stamped ones, and the files are the stamped ones with the stamped
    /// content. `on_disk` reads every file of the generated directories plus the manifest;
    /// it is called only when the inputs match (a changed spec reads no generated file).
    pub fn matches<'a>(
        &self,
        inputs: impl IntoIterator<Item = &'a [u8]>,
        on_disk: impl FnOnce() -> Vec<(String, Vec<u8>)>,
    ) -> bool {
        if self.inputs != inputs_hash(inputs) {
            return false;
        }
        let on_disk = on_disk();
        on_disk.len() == self.outputs.len()
            && on_disk.iter().all(|(path, bytes)| self.outputs.get(path) == Some(&hash(bytes)))
    }

    /// The stamp as text: `inputs <hash>`, then `<hash> <path>` per output.
    pub fn to_text(&self) -> String {
        let mut out = format!("inputs {:016x}\n", self.inputs);
        for (path, hash) in &self.outputs {
            out.push_str(&format!("{hash:016x} {path}\n"));
        }
        out
    }

    /// Parses [`to_text`](Self::to_text); `None` for anything else.
    pub fn from_text(text: &str) -> Option<Stamp> {
        let mut lines = text.lines();
        let inputs = u64::from_str_radix(lines.next()?.strip_prefix("inputs ")?, 16).ok()?;
        let mut outputs = BTreeMap::new();
        for line in lines {
            let (hash, path) = line.split_once(' ')?;
            outputs.insert(path.to_owned(), u64::from_str_radix(hash, 16).ok()?);
        }
        Some(Stamp { inputs, outputs })
    }
}

fn inputs_hash<'a>(inputs: impl IntoIterator<Item = &'a [u8]>) -> u64 {
    let mut hasher = DefaultHasher::new();
    for input in inputs {
        // Length first, so that moving bytes between two inputs changes the hash.
        hasher.write_usize(input.len());
        hasher.write(input);
    }
    hasher.finish()
}

/// Where the stamp of the workspace at `root` is kept: beside the running xtask binary,
/// named after the root so that two checkouts sharing a target directory keep their own.
pub fn path(root: &Path) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    Some(exe.with_file_name(format!("xtask-gen-{:016x}.stamp", hash(root.to_string_lossy().as_bytes()))))
}

/// The running generator's identity: its own binary.
pub fn generator() -> Option<Vec<u8>> {
    fs::read(std::env::current_exe().ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outputs() -> BTreeMap<String, String> {
        BTreeMap::from([("a.rs".to_owned(), "fn a() {}".to_owned()), ("b.rs".to_owned(), "fn b() {}".to_owned())])
    }

    fn disk(files: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
        files.iter().map(|(p, t)| (p.to_string(), t.as_bytes().to_vec())).collect()
    }

    #[test]
    fn matches_only_the_same_inputs_and_the_same_files() {
        let inputs: [&[u8]; 2] = [b"generator", b"spec"];
        let stamp = Stamp::new(inputs, &outputs());
        let same = disk(&[("a.rs", "fn a() {}"), ("b.rs", "fn b() {}")]);
        assert!(stamp.matches(inputs, || same.clone()));
        // Another spec, or the same bytes split differently between the inputs.
        let unread = || -> Vec<(String, Vec<u8>)> { panic!("files read although the inputs differ") };
        assert!(!stamp.matches([b"generator".as_slice(), b"spec2"], unread));
        assert!(!stamp.matches([b"generatorspec".as_slice(), b""], unread));
        // A hand edit, a deleted file, an extra file.
        assert!(!stamp.matches(inputs, || disk(&[("a.rs", "fn a() { }"), ("b.rs", "fn b() {}")])));
        assert!(!stamp.matches(inputs, || disk(&[("a.rs", "fn a() {}")])));
        assert!(!stamp.matches(inputs, || disk(&[("a.rs", "fn a() {}"), ("b.rs", "fn b() {}"), ("c.rs", "")])));
        assert!(!stamp.matches(inputs, || disk(&[("a.rs", "fn a() {}"), ("c.rs", "fn b() {}")])));
    }

    #[test]
    fn text_round_trips_and_garbage_is_no_stamp() {
        let stamp = Stamp::new([b"x".as_slice()], &outputs());
        assert_eq!(Stamp::from_text(&stamp.to_text()), Some(stamp));
        for garbage in ["", "inputs zz\n", "nope 12\n", "inputs 1\nxyz\n"] {
            assert_eq!(Stamp::from_text(garbage), None, "{garbage:?}");
        }
    }
}
