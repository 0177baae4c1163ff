//! A scanner for the official Go SDK (`api/<pkg>/request/*.go`, `api/<pkg>/response/*.go`).
//!
//! It reads only what the generator writes: `type X struct { ... }` blocks with one field
//! per line (`PageSize *int64 \`json:"page_size,omitempty"\``), the request's
//! `GetUrlPath()` string, the `Param` field of the request struct and the `Data` field of
//! the response struct. Anything else in a field's type becomes [`RawType::Unknown`].
//!
//! Required parameters: Go has no annotation, and the generator changed its convention.
//! The older one tags every field `omitempty` and makes required scalars pointers; the
//! newer one writes no `omitempty` and makes optional scalars pointers. Lists, maps and
//! objects cannot tell, so they are optional (as in the catalog importer).

use super::lex::{describe, matching, tokenize, Syntax, Token};
use super::model::{Classes, RawField, RawType, ScannedMethod};
use std::collections::BTreeMap;

/// Which required-parameter convention a package's generator used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Convention {
    /// Every tag has `omitempty`; required scalars are pointers.
    PointerRequired,
    /// No `omitempty`; optional scalars are pointers.
    PointerOptional,
}

/// One struct field as written.
#[derive(Debug, Clone)]
struct GoField {
    /// The Go name.
    name: String,
    /// The tag's JSON name (`None` without a tag or with an empty name: Go then uses the Go name).
    json: Option<String>,
    ty: RawType,
    pointer: bool,
    omitempty: bool,
    /// The `,string` option: a number or bool travels as a JSON string.
    as_string: bool,
}

/// One struct: its fields and embedded types.
#[derive(Debug, Clone, Default)]
struct GoStruct {
    fields: Vec<GoField>,
    embedded: Vec<String>,
}

/// What one file (or one side's files together) declares.
#[derive(Debug, Default)]
struct GoFiles {
    structs: BTreeMap<String, GoStruct>,
    url_path: Option<String>,
    notes: Vec<String>,
}

/// Scans one package: its request-side and response-side file texts.
pub(crate) fn scan_package(package: &str, request: &[&str], response: &[&str]) -> (ScannedMethod, Convention) {
    let request = scan_files(request);
    let response = scan_files(response);
    let mut notes = request.notes;
    notes.extend(response.notes);

    let convention = if request.structs.values().flat_map(|s| &s.fields).any(|f| f.omitempty) {
        Convention::PointerRequired
    } else {
        Convention::PointerOptional
    };
    // The request struct holds the parameters in its `Param` field.
    let param_root = request
        .structs
        .iter()
        .filter(|(name, _)| name.ends_with("Request"))
        .flat_map(|(_, s)| &s.fields)
        .find(|f| f.name == "Param" && f.json.is_none())
        .and_then(|f| match &f.ty {
            RawType::Class(class) => Some(class.clone()),
            _ => None,
        })
        .or_else(|| only(request.structs.keys().filter(|name| name.ends_with("Param"))));
    // The response struct embeds the base response and holds the reply's `data`.
    let data = response
        .structs
        .iter()
        .filter(|(name, s)| name.ends_with("Response") || s.embedded.iter().any(|e| e.ends_with("Response")))
        .flat_map(|(_, s)| &s.fields)
        .find(|f| f.json.as_deref() == Some("data"))
        .map(|f| f.ty.clone());

    let param_classes = classes(&request.structs, Some(convention), &mut notes);
    let data_classes = classes(&response.structs, None, &mut notes);
    let scanned = ScannedMethod {
        package: package.to_owned(),
        url_path: request.url_path,
        param_root,
        param_classes,
        data,
        data_classes,
        notes,
    };
    (scanned, convention)
}

/// The one item of an iterator, or `None` when there are none or several.
fn only<'a>(mut items: impl Iterator<Item = &'a String>) -> Option<String> {
    let first = items.next()?;
    items.next().is_none().then(|| first.clone())
}

/// Turns structs into classes; `convention` is given for the request side only.
fn classes(structs: &BTreeMap<String, GoStruct>, convention: Option<Convention>, notes: &mut Vec<String>) -> Classes {
    let mut out = Classes::new();
    for (name, s) in structs {
        for embedded in &s.embedded {
            if structs.contains_key(embedded.trim_start_matches('*')) {
                notes.push(format!("struct `{name}` embeds `{embedded}`; its fields are not imported"));
            }
        }
        let fields = s
            .fields
            .iter()
            // encoding/json skips unexported fields and `json:"-"`.
            .filter(|f| f.name.starts_with(|c: char| c.is_uppercase()) && f.json.as_deref() != Some("-"))
            .map(|f| {
                let scalar =
                    matches!(f.ty, RawType::String | RawType::I32 | RawType::I64 | RawType::F64 | RawType::Bool);
                let required = match convention {
                    Some(Convention::PointerRequired) => scalar && f.pointer,
                    Some(Convention::PointerOptional) => scalar && !f.pointer,
                    None => false,
                };
                RawField {
                    json: f.json.clone().unwrap_or_else(|| f.name.clone()),
                    ty: if f.as_string && scalar { RawType::String } else { f.ty.clone() },
                    required,
                    example: None,
                }
            })
            .collect();
        out.insert(name.clone(), fields);
    }
    out
}

fn scan_files(texts: &[&str]) -> GoFiles {
    let mut out = GoFiles::default();
    for text in texts {
        scan_file(text, &mut out);
    }
    out
}

fn scan_file(text: &str, out: &mut GoFiles) {
    let tokens = tokenize(text, Syntax::Go);
    let word = |i: usize| match tokens.get(i) {
        Some(Token::Word(w)) => Some(w.as_str()),
        _ => None,
    };
    let mut i = 0;
    while i < tokens.len() {
        match word(i) {
            Some("type") if word(i + 2) == Some("struct") && tokens.get(i + 3) == Some(&Token::Punct('{')) => {
                let name = word(i + 1).unwrap_or_default().to_owned();
                let end = matching(&tokens, i + 3);
                let body = parse_struct(&name, &tokens[i + 4..end.min(tokens.len())], &mut out.notes);
                if out.structs.insert(name.clone(), body).is_some() {
                    out.notes.push(format!("struct `{name}` is declared twice; the last one is used"));
                }
                i = end + 1;
            }
            Some("GetUrlPath") if out.url_path.is_none() => {
                out.url_path = returned_string(&tokens[i..]);
                i += 1;
            }
            _ => i += 1,
        }
    }
}

/// The first string a function body returns (`{ return "/order/searchList" }`).
fn returned_string(tokens: &[Token]) -> Option<String> {
    let open = tokens.iter().position(|t| *t == Token::Punct('{'))?;
    let body = &tokens[open..matching(tokens, open).min(tokens.len())];
    body.windows(2).find_map(|pair| match pair {
        [Token::Word(w), Token::Str(s)] if w == "return" => Some(s.clone()),
        _ => None,
    })
}

/// Parses the body of a struct: one field per line (or `;`), brackets kept together.
fn parse_struct(name: &str, body: &[Token], notes: &mut Vec<String>) -> GoStruct {
    let mut out = GoStruct::default();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, token) in body.iter().enumerate().chain(std::iter::once((body.len(), &Token::Newline))) {
        match token {
            Token::Punct('{' | '(' | '[') => depth += 1,
            Token::Punct('}' | ')' | ']') => depth = depth.saturating_sub(1),
            Token::Newline | Token::Punct(';') if depth == 0 => {
                let line = &body[start..i];
                start = i + 1;
                if !line.is_empty() {
                    parse_line(name, line, &mut out, notes);
                }
            }
            _ => {}
        }
    }
    out
}

fn parse_line(struct_name: &str, line: &[Token], out: &mut GoStruct, notes: &mut Vec<String>) {
    let (body, tag) = match line.split_last() {
        Some((Token::Str(tag), rest)) => (rest, Some(tag.as_str())),
        _ => (line, None),
    };
    if let Some(embedded) = embedded_type(body) {
        out.embedded.push(embedded);
        return;
    }
    let (Some(Token::Word(name)), Some(type_tokens)) = (body.first(), body.get(1..)) else {
        notes.push(format!("struct `{struct_name}`: could not read the line `{}`", describe(line)));
        return;
    };
    if type_tokens.is_empty() || type_tokens.first() == Some(&Token::Punct(',')) {
        notes.push(format!("struct `{struct_name}`: could not read the line `{}`", describe(line)));
        return;
    }
    let (mut ty, used) = parse_type(type_tokens, 0);
    if used != type_tokens.len() {
        ty = RawType::Unknown(describe(type_tokens));
    }
    let options = tag.and_then(|tag| tag_value(tag, "json")).unwrap_or_default();
    let mut parts = options.split(',');
    let json = parts.next().filter(|n| !n.is_empty()).map(str::to_owned);
    let options: Vec<&str> = parts.collect();
    out.fields.push(GoField {
        name: name.clone(),
        json: if tag.is_some() { json } else { None },
        ty,
        pointer: type_tokens.first() == Some(&Token::Punct('*')),
        omitempty: options.contains(&"omitempty"),
        as_string: options.contains(&"string"),
    });
}

/// `Base`, `pkg.Base`, `*Base`, `*pkg.Base`: an embedded type, by its written name.
fn embedded_type(body: &[Token]) -> Option<String> {
    let rest = match body.first() {
        Some(Token::Punct('*')) => &body[1..],
        _ => body,
    };
    match rest {
        [Token::Word(_)] | [Token::Word(_), Token::Punct('.'), Token::Word(_)] => Some(describe(body)),
        _ => None,
    }
}

/// The value of `key:"value"` in a struct tag.
fn tag_value(tag: &str, key: &str) -> Option<String> {
    let mut rest = tag.trim_start();
    while !rest.is_empty() {
        let colon = rest.find(':')?;
        let name = &rest[..colon];
        let value = rest[colon + 1..].strip_prefix('"')?;
        let mut end = None;
        let mut escaped = false;
        for (i, c) in value.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => {
                    end = Some(i);
                    break;
                }
                _ => escaped = false,
            }
        }
        let end = end?;
        if name == key {
            return Some(value[..end].replace("\\\"", "\""));
        }
        rest = value[end + 1..].trim_start();
    }
    None
}

/// Deeper type nesting than this is not generated code: it becomes unknown.
const MAX_DEPTH: usize = 32;

/// Parses a Go type at the start of `tokens`; returns it and how many tokens it used.
fn parse_type(tokens: &[Token], depth: usize) -> (RawType, usize) {
    let unknown = || (RawType::Unknown(describe(tokens)), tokens.len());
    if depth > MAX_DEPTH {
        return unknown();
    }
    let word = |i: usize| match tokens.get(i) {
        Some(Token::Word(w)) => Some(w.as_str()),
        _ => None,
    };
    match tokens.first() {
        Some(Token::Punct('*')) => {
            let (ty, used) = parse_type(&tokens[1..], depth + 1);
            (ty, used + 1)
        }
        Some(Token::Punct('[')) => {
            // `[]T` or an array `[N]T`.
            let item_at = match (tokens.get(1), tokens.get(2)) {
                (Some(Token::Punct(']')), _) => 2,
                (Some(Token::Word(_)), Some(Token::Punct(']'))) => 3,
                _ => return unknown(),
            };
            if item_at == 2 && matches!(word(2), Some("byte" | "uint8")) {
                // encoding/json writes a byte slice as base64 text.
                return (RawType::String, 3);
            }
            let (item, used) = parse_type(&tokens[item_at..], depth + 1);
            (RawType::List(Box::new(item)), item_at + used)
        }
        Some(Token::Word(w)) if w == "map" && tokens.get(1) == Some(&Token::Punct('[')) => {
            let (key, key_used) = parse_type(&tokens[2..], depth + 1);
            if tokens.get(2 + key_used) != Some(&Token::Punct(']')) {
                return unknown();
            }
            let value_at = 3 + key_used;
            let (value, used) = parse_type(&tokens[value_at.min(tokens.len())..], depth + 1);
            (RawType::Map(Box::new(key), Box::new(value)), value_at + used)
        }
        Some(Token::Word(w)) if w == "interface" && tokens.get(1) == Some(&Token::Punct('{')) => {
            let end = matching(tokens, 1);
            if end == 2 {
                (RawType::Any, 3)
            } else {
                (RawType::Unknown(describe(&tokens[..(end + 1).min(tokens.len())])), (end + 1).min(tokens.len()))
            }
        }
        Some(Token::Word(package)) if tokens.get(1) == Some(&Token::Punct('.')) => match word(2) {
            Some(name) if package == "json" && name == "RawMessage" => (RawType::Any, 3),
            Some(name) => (RawType::Unknown(format!("{package}.{name}")), 3),
            None => unknown(),
        },
        Some(Token::Word(name)) => match builtin(name) {
            Some(ty) => (ty, 1),
            None if matches!(name.as_str(), "struct" | "func" | "chan" | "interface" | "map") => unknown(),
            None => (RawType::Class(name.clone()), 1),
        },
        _ => unknown(),
    }
}

/// Go's predeclared types.
fn builtin(name: &str) -> Option<RawType> {
    Some(match name {
        "string" => RawType::String,
        "bool" => RawType::Bool,
        "int8" | "int16" | "int32" | "uint8" | "uint16" | "byte" | "rune" => RawType::I32,
        "int" | "int64" | "uint" | "uint32" | "uint64" => RawType::I64,
        "float32" | "float64" => RawType::F64,
        "any" => RawType::Any,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(text: &str) -> RawType {
        let tokens = tokenize(text, Syntax::Go);
        let (ty, used) = parse_type(&tokens, 0);
        assert_eq!(used, tokens.len(), "{text}");
        ty
    }

    #[test]
    fn types() {
        let class = |name: &str| RawType::Class(name.into());
        let list = |t: RawType| RawType::List(Box::new(t));
        assert_eq!(ty("*int64"), RawType::I64);
        assert_eq!(ty("[]*ShopOrderListItem"), list(class("ShopOrderListItem")));
        assert_eq!(ty("[][]string"), list(list(RawType::String)));
        assert_eq!(ty("[3]int32"), list(RawType::I32));
        assert_eq!(ty("[]byte"), RawType::String);
        assert_eq!(ty("map[string][]Tag"), RawType::Map(Box::new(RawType::String), Box::new(list(class("Tag")))));
        assert_eq!(ty("interface{}"), RawType::Any);
        assert_eq!(ty("json.RawMessage"), RawType::Any);
        assert_eq!(ty("time.Time"), RawType::Unknown("time.Time".into()));
        assert_eq!(ty("chan int"), RawType::Unknown("chan int".into()));
        assert_eq!(ty("interface{ Name() string }"), RawType::Unknown("interface{Name()string}".into()));
        assert_eq!(ty("struct { A int }"), RawType::Unknown("struct{A int}".into()));
    }

    #[test]
    fn tags() {
        let tag = r#"json:"page_size,omitempty" form:"x\"y""#;
        assert_eq!(tag_value(tag, "json").as_deref(), Some("page_size,omitempty"));
        assert_eq!(tag_value(tag, "form").as_deref(), Some("x\"y"));
        assert_eq!(tag_value(tag, "xml"), None);
        assert_eq!(tag_value("json:broken", "json"), None);
    }

    const REQUEST: &str = r#"package demo_request
type DemoRequest struct {
	doudian_sdk.BaseDoudianOpApiRequest
	Param *DemoParam 
}
func (c *DemoRequest) GetUrlPath() string{
	return "/demo/get_thing"
}
type DemoParam struct {
	// required in the older convention: a pointer
	Id *int64 `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
	Count int64 `json:"count,string,omitempty"`
	Skip string `json:"-"`
	hidden string
	Items []Item `json:"items,omitempty"`
	A, B int
}
"#;

    #[test]
    fn older_convention_package() {
        let response =
            "type DemoResponse struct {\n\tdoudian_sdk.BaseDoudianOpApiResponse\n\tData []int64 `json:\"data\"`\n}\n";
        let (scanned, convention) = scan_package("demo_get_thing", &[REQUEST], &[response]);
        assert_eq!(convention, Convention::PointerRequired);
        assert_eq!(scanned.url_path.as_deref(), Some("/demo/get_thing"));
        assert_eq!(scanned.param_root.as_deref(), Some("DemoParam"));
        assert_eq!(scanned.data, Some(RawType::List(Box::new(RawType::I64))));
        let fields = &scanned.param_classes["DemoParam"];
        let summary: Vec<(&str, String, bool)> =
            fields.iter().map(|f| (f.json.as_str(), f.ty.to_string(), f.required)).collect();
        assert_eq!(
            summary,
            [
                ("id", "i64".into(), true),
                ("name", "string".into(), false),
                ("count", "string".into(), false),
                ("items", "list<Item>".into(), false),
            ]
        );
        assert_eq!(scanned.notes, ["struct `DemoParam`: could not read the line `A, B int`"]);
    }

    #[test]
    fn newer_convention_package() {
        let request = "type XRequest struct {\n\tParam *XParam\n}\ntype XParam struct {\n\tId int64 `json:\"id\"`\n\tNote *string `json:\"note\"`\n}\n";
        let (scanned, convention) = scan_package("x", &[request], &[]);
        assert_eq!(convention, Convention::PointerOptional);
        let required: Vec<bool> = scanned.param_classes["XParam"].iter().map(|f| f.required).collect();
        assert_eq!(required, [true, false]);
        assert_eq!(scanned.url_path, None);
        assert_eq!(scanned.data, None);
    }

    #[test]
    fn every_prefix_of_a_file_scans_without_panic() {
        let chars: Vec<char> = REQUEST.chars().collect();
        for end in 0..chars.len() {
            let text: String = chars[..end].iter().collect();
            scan_package("p", &[&text], &[&text]);
        }
    }
}
