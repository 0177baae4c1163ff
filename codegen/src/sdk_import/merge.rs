//! Lays the methods read from an SDK over the existing group files, and the report.

use super::diff::differences;
use super::{Language, Read};
use crate::spec::{GroupFile, Method};
use std::collections::BTreeMap;
use std::fmt;

/// The group files an import changed, and what it did.
#[derive(Debug, Clone)]
pub struct Merged {
    /// Group name -> the whole new file, only for groups with a new or changed method.
    pub groups: BTreeMap<String, GroupFile>,
    /// What happened, for the user.
    pub report: Report,
}

/// A method whose imported entry changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    /// `order.searchList`
    pub name: String,
    /// What changed, one line each, in spec paths.
    pub differences: Vec<String>,
}

/// What an import did. [`merge`] fills the method lists and notes; the writer adds the
/// files written and any problem the generator will have with the result.
#[derive(Debug, Clone)]
pub struct Report {
    /// The SDK's language.
    pub language: Language,
    /// How many methods were taken from the SDK.
    pub sdk_methods: usize,
    /// Methods the spec did not have.
    pub new: Vec<String>,
    /// Imported entries replaced because the SDK says something else.
    pub changed: Vec<Changed>,
    /// Entries that already say what the SDK says.
    pub unchanged: Vec<String>,
    /// Hand-written entries (no `origin`) of methods the SDK has: kept as they are, with
    /// what the SDK says differently (for the user to carry over by hand if wanted).
    pub kept_hand_written: Vec<Changed>,
    /// Entries of this SDK's origin that the SDK no longer has: kept (a console SDK holds
    /// only the APIs its app was granted, so absence is not removal).
    pub not_in_sdk: Vec<String>,
    /// What the scanners could not read exactly.
    pub notes: Vec<String>,
    /// Group files written (paths), filled by the writer.
    pub written: Vec<String>,
    /// Spec errors after the import, filled by the writer: `cargo xtask gen` will refuse.
    pub problems: Vec<String>,
}

impl Report {
    /// Whether the import changed no entry.
    pub fn nothing_changed(&self) -> bool {
        self.new.is_empty() && self.changed.is_empty()
    }
}

/// Merges `read` into the existing group files. With `whole_sdk` false (a filtered import)
/// entries missing from `read` are not reported as missing from the SDK.
pub fn merge(existing: Vec<GroupFile>, read: Read, language: Language, whole_sdk: bool) -> Merged {
    let origin = language.origin();
    let mut groups: BTreeMap<String, GroupFile> = BTreeMap::new();
    for file in existing {
        match groups.get_mut(&file.group) {
            // Two files of one group are a spec error the generator reports; keep both's methods.
            Some(group) => group.methods.extend(file.methods),
            None => {
                groups.insert(file.group.clone(), file);
            }
        }
    }
    let mut report = Report {
        language,
        sdk_methods: read.methods.len(),
        new: Vec::new(),
        changed: Vec::new(),
        unchanged: Vec::new(),
        kept_hand_written: Vec::new(),
        not_in_sdk: Vec::new(),
        notes: read.notes,
        written: Vec::new(),
        problems: Vec::new(),
    };
    if whole_sdk {
        let in_sdk: Vec<&str> = read.methods.iter().map(|m| m.name.as_str()).collect();
        report.not_in_sdk = groups
            .values()
            .flat_map(|g| &g.methods)
            .filter(|m| m.origin == Some(origin) && !in_sdk.contains(&m.name.as_str()))
            .map(|m| m.name.clone())
            .collect();
        report.not_in_sdk.sort();
    }

    let mut touched: Vec<String> = Vec::new();
    for method in read.methods {
        let found = groups
            .iter_mut()
            .find_map(|(group, file)| file.methods.iter_mut().find(|m| m.name == method.name).map(|m| (group, m)));
        match found {
            Some((_, entry)) if entry.origin.is_none() => {
                // Origin, source and doc are the hand-written entry's own; say only what the
                // SDK would change in the API.
                let mut differences = differences(entry, &method);
                differences.retain(|line| !["origin: ", "source: ", "doc "].iter().any(|p| line.starts_with(p)));
                report.kept_hand_written.push(Changed { name: method.name, differences });
            }
            Some((_, entry)) if *entry == method => report.unchanged.push(method.name),
            Some((group, entry)) => {
                report.changed.push(Changed { name: method.name.clone(), differences: differences(entry, &method) });
                *entry = method;
                touched.push(group.clone());
            }
            None => {
                let group = method.name.split('.').next().unwrap_or_default().to_owned();
                let file =
                    groups.entry(group.clone()).or_insert_with(|| GroupFile { group: group.clone(), methods: vec![] });
                report.new.push(method.name.clone());
                insert_sorted(&mut file.methods, method);
                touched.push(group);
            }
        }
    }
    let groups = groups.into_iter().filter(|(group, _)| touched.contains(group)).collect();
    Merged { groups, report }
}

/// Inserts before the first method with a greater name, leaving the existing order alone.
fn insert_sorted(methods: &mut Vec<Method>, method: Method) {
    let at = methods.iter().position(|m| m.name > method.name).unwrap_or(methods.len());
    methods.insert(at, method);
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "import-sdk: {} methods read from the {} SDK", self.sdk_methods, self.language.name())?;
        writeln!(f, "new ({}):", self.new.len())?;
        for name in &self.new {
            writeln!(f, "  + {name}")?;
        }
        writeln!(f, "changed ({}):", self.changed.len())?;
        for changed in &self.changed {
            writeln!(f, "  ~ {}", changed.name)?;
            for line in &changed.differences {
                writeln!(f, "      {line}")?;
            }
        }
        writeln!(f, "unchanged ({}):", self.unchanged.len())?;
        write_wrapped(f, &self.unchanged)?;
        if !self.kept_hand_written.is_empty() {
            writeln!(
                f,
                "kept hand-written ({}): entries without `origin` win; what the SDK says otherwise:",
                self.kept_hand_written.len()
            )?;
            for kept in &self.kept_hand_written {
                let same = if kept.differences.is_empty() { " (the same as the SDK)" } else { "" };
                writeln!(f, "  ! {}{same}", kept.name)?;
                for line in &kept.differences {
                    writeln!(f, "      {line}")?;
                }
            }
        }
        if !self.not_in_sdk.is_empty() {
            writeln!(
                f,
                "not in this SDK ({}): kept (an SDK holds only the APIs its app was granted):",
                self.not_in_sdk.len()
            )?;
            write_wrapped(f, &self.not_in_sdk)?;
        }
        if !self.notes.is_empty() {
            writeln!(f, "notes ({}):", self.notes.len())?;
            for note in &self.notes {
                writeln!(f, "  {note}")?;
            }
        }
        if !self.problems.is_empty() {
            writeln!(
                f,
                "problems `cargo xtask gen` will report ({}); fix them in overrides.json:",
                self.problems.len()
            )?;
            for problem in &self.problems {
                writeln!(f, "  {problem}")?;
            }
        }
        if self.nothing_changed() {
            write!(f, "nothing changed: the spec already has what this SDK says ({} files written)", self.written.len())
        } else {
            for path in &self.written {
                writeln!(f, "wrote {path}")?;
            }
            write!(
                f,
                "next: `cargo xtask gen`, then `cargo xtask gen --check`, and commit api-spec/ with the generated code"
            )
        }
    }
}

/// Names on lines of at most ~100 characters, indented.
fn write_wrapped(f: &mut fmt::Formatter<'_>, names: &[String]) -> fmt::Result {
    let mut line = String::new();
    for name in names {
        if !line.is_empty() && line.len() + name.len() + 2 > 100 {
            writeln!(f, "  {line}")?;
            line.clear();
        }
        if !line.is_empty() {
            line.push_str(", ");
        }
        line.push_str(name);
    }
    if !line.is_empty() {
        writeln!(f, "  {line}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heuristics::untyped_method;
    use crate::spec::Origin;

    fn group(name: &str, methods: Vec<Method>) -> GroupFile {
        GroupFile { group: name.into(), methods }
    }

    #[test]
    fn new_changed_unchanged_and_hand_written() {
        let hand = Method { origin: None, ..untyped_method("order.hand", Origin::Catalog, None) };
        let existing = vec![group(
            "order",
            vec![
                untyped_method("order.a", Origin::Catalog, None),
                hand.clone(),
                untyped_method("order.same", Origin::SdkGo, None),
                untyped_method("order.z", Origin::Catalog, None),
            ],
        )];
        let read = Read {
            methods: vec![
                untyped_method("order.a", Origin::SdkGo, None),
                untyped_method("order.b", Origin::SdkGo, None),
                untyped_method("order.hand", Origin::SdkGo, None),
                untyped_method("order.same", Origin::SdkGo, None),
                untyped_method("shop.new", Origin::SdkGo, None),
            ],
            notes: vec![],
        };
        let merged = merge(existing, read, Language::Go, true);
        let report = &merged.report;
        assert_eq!(report.new, ["order.b", "shop.new"]);
        assert_eq!(
            report.changed,
            [Changed { name: "order.a".into(), differences: vec!["origin: catalog -> sdk-go".into()] }]
        );
        assert_eq!(report.unchanged, ["order.same"]);
        assert_eq!(report.kept_hand_written, [Changed { name: "order.hand".into(), differences: vec![] }]);
        assert!(report.not_in_sdk.is_empty());
        let order: Vec<&str> = merged.groups["order"].methods.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(order, ["order.a", "order.b", "order.hand", "order.same", "order.z"]);
        assert!(merged.groups["order"].methods.contains(&hand));
        assert_eq!(merged.groups["shop"].methods.len(), 1);
    }

    #[test]
    fn untouched_groups_are_not_returned_and_absent_entries_are_reported() {
        let existing = vec![
            group("order", vec![untyped_method("order.old", Origin::SdkJava, None)]),
            group("shop", vec![untyped_method("shop.same", Origin::SdkJava, None)]),
        ];
        let read = Read { methods: vec![untyped_method("shop.same", Origin::SdkJava, None)], notes: vec![] };
        let merged = merge(existing.clone(), read.clone(), Language::Java, true);
        assert!(merged.groups.is_empty());
        assert!(merged.report.nothing_changed());
        assert_eq!(merged.report.not_in_sdk, ["order.old"]);
        assert!(merge(existing, read, Language::Java, false).report.not_in_sdk.is_empty());
    }
}
