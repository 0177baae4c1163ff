//! Code sets (`api-spec/codes.json`): validated once, looked up by lowering (which field
//! holds which set) and rendered by [`crate::render`] as `doudian-sdk/src/api/codes.rs`,
//! one invocation of the core's `code_set!` macro per set (the macro holds the behaviour;
//! this is the data).

use crate::error::SpecError;
use crate::naming;
use crate::spec::{CodeSet, CodesFile};
use std::collections::{BTreeMap, BTreeSet};

/// The validated code sets, with the field rules resolved.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CodeSets {
    /// In file order.
    pub sets: Vec<CodeSet>,
}

impl CodeSets {
    /// Validates the file (`path`: its path, for errors); every error names its place.
    pub fn new(path: &str, codes: &CodesFile) -> Result<CodeSets, Vec<SpecError>> {
        let mut errors = Vec::new();
        let mut names = BTreeSet::new();
        let mut rules: BTreeMap<(&str, Option<&str>), &str> = BTreeMap::new();
        for set in &codes.code_sets {
            let place = format!("code_sets.{}", set.name);
            let mut error = |message: String| errors.push(SpecError::new(path, &place, message));
            if !naming::is_identifier(&set.name)
                || !set.name.starts_with(|c: char| c.is_ascii_uppercase())
                || naming::is_reserved(&set.name)
            {
                error("a code set's name must be an UpperCamelCase identifier other than prelude names".into());
            }
            if !names.insert(set.name.as_str()) {
                error("duplicate code set".into());
            }
            if set.values.is_empty() {
                error("a code set names at least one value".into());
            }
            let mut constants = BTreeSet::new();
            let mut values = BTreeSet::new();
            for value in &set.values {
                let upper = value.name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
                if !naming::is_identifier(&value.name) || !upper {
                    error(format!("value name `{}` must be an UPPER_SNAKE_CASE identifier", value.name));
                }
                if !constants.insert(value.name.as_str()) {
                    error(format!("value name `{}` is listed twice", value.name));
                }
                if !values.insert(value.value) {
                    error(format!("value {} is listed twice", value.value));
                }
            }
            for field in &set.fields {
                let scopes: Vec<Option<&str>> = match &set.groups {
                    Some(groups) => groups.iter().map(|g| Some(g.as_str())).collect(),
                    None => vec![None],
                };
                for scope in scopes {
                    if let Some(other) = rules.insert((field.as_str(), scope), &set.name) {
                        error(format!("field `{field}` is also claimed by code set `{other}`"));
                    }
                }
            }
        }
        // A field claimed everywhere by one set and in one group by another is ambiguous.
        for ((field, scope), set) in &rules {
            if scope.is_some() {
                if let Some(other) = rules.get(&(*field, None)).filter(|other| *other != set) {
                    errors.push(SpecError::new(
                        path,
                        format!("code_sets.{set}"),
                        format!("field `{field}` is also claimed everywhere by code set `{other}`"),
                    ));
                }
            }
        }
        if errors.is_empty() {
            Ok(CodeSets { sets: codes.code_sets.clone() })
        } else {
            Err(errors)
        }
    }

    /// Whether a code set of this name exists.
    pub fn contains(&self, name: &str) -> bool {
        self.sets.iter().any(|s| s.name == name)
    }

    /// The names, for error messages.
    pub fn names(&self) -> String {
        self.sets.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ")
    }

    /// The code set a field of this JSON name holds by rule in `group` (as the platform
    /// spells it; `messages` for pushes).
    pub fn by_field(&self, wire: &str, group: &str) -> Option<&str> {
        self.sets
            .iter()
            .find(|set| {
                set.fields.iter().any(|f| f == wire)
                    && set.groups.as_ref().is_none_or(|groups| groups.iter().any(|g| g == group))
            })
            .map(|set| set.name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::CodeValue;

    fn set(name: &str, fields: &[&str], groups: Option<&[&str]>) -> CodeSet {
        CodeSet {
            name: name.into(),
            doc: "A set.".into(),
            fields: fields.iter().map(|f| (*f).into()).collect(),
            groups: groups.map(|g| g.iter().map(|g| (*g).into()).collect()),
            source: None,
            values: vec![CodeValue { name: "ONE".into(), value: 1, label: "一".into(), doc: "One.".into() }],
        }
    }

    fn sets(list: Vec<CodeSet>) -> Result<CodeSets, Vec<SpecError>> {
        CodeSets::new("api-spec/codes.json", &CodesFile { code_sets: list })
    }

    #[test]
    fn field_rules_apply_in_their_groups_only() {
        let codes =
            sets(vec![set("OrderStatus", &["order_status"], None), set("Kind", &["kind"], Some(&["order"]))]).unwrap();
        assert_eq!(codes.by_field("order_status", "logistics"), Some("OrderStatus"));
        assert_eq!(codes.by_field("kind", "order"), Some("Kind"));
        assert_eq!(codes.by_field("kind", "product"), None);
        assert_eq!(codes.by_field("other", "order"), None);
        assert!(codes.contains("Kind") && !codes.contains("Nope"));
    }

    #[test]
    fn bad_sets_are_refused_with_their_place() {
        let mut twice = set("Twice", &[], None);
        twice.values.push(twice.values[0].clone());
        let mut lower = set("lower", &[], None);
        lower.values[0].name = "One".into();
        let errors =
            sets(vec![twice, lower, set("A", &["f"], None), set("B", &["f"], Some(&["order"])), set("A", &[], None)])
                .unwrap_err();
        let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        let has = |part: &str| text.iter().any(|t| t.contains(part));
        assert!(has("value name `ONE` is listed twice"), "{text:?}");
        assert!(has("value 1 is listed twice"), "{text:?}");
        assert!(has("UpperCamelCase"), "{text:?}");
        assert!(has("UPPER_SNAKE_CASE"), "{text:?}");
        assert!(has("also claimed everywhere by code set `A`"), "{text:?}");
        assert!(has("duplicate code set"), "{text:?}");
    }
}
