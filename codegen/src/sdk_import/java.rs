//! A scanner for the official Java SDK (`com/doudian/open/api/<pkg>/`): the request class
//! (`<X>Request.java`, with `getUrlPath()` and `extends DoudianOpRequest<Param>`), the
//! response class (`extends DoudianOpResponse<Data>`), and one class per file in `param/`
//! and `data/`, whose fields carry `@SerializedName("json_name")` and
//! `@OpField(required = ..., example = ...)`.
//!
//! It reads declarations only: method bodies are skipped (except `getUrlPath`'s), and a
//! type it does not know becomes [`RawType::Unknown`] or a class reference that the
//! resolver then reports as missing.

use super::lex::{describe, matching, tokenize, Syntax, Token};
use super::model::{Classes, RawField, RawType, ScannedMethod};

/// A Java type as written: the simple name, type arguments and array dimensions.
#[derive(Debug, Clone, PartialEq)]
struct JavaType {
    /// The last segment of the name (`List` for `java.util.List`).
    name: String,
    /// Whether the name was package-qualified (`java.util.Date`).
    qualified: bool,
    args: Vec<JavaType>,
    arrays: usize,
    /// The source text, for notes.
    text: String,
}

/// One class declaration.
#[derive(Debug, Clone, Default)]
struct JavaClass {
    name: String,
    extends: Option<JavaType>,
    fields: Vec<RawField>,
    url_path: Option<String>,
}

/// Scans one package: the files directly in it, in `param/` and in `data/`.
pub(crate) fn scan_package(package: &str, top: &[&str], param: &[&str], data: &[&str]) -> ScannedMethod {
    let mut notes = Vec::new();
    let top: Vec<JavaClass> = top.iter().flat_map(|text| scan_file(text, false)).collect();
    let param_classes = to_classes(param.iter().flat_map(|text| scan_file(text, true)), &mut notes);
    let data_classes = to_classes(data.iter().flat_map(|text| scan_file(text, false)), &mut notes);

    let request =
        top.iter().find(|c| c.url_path.is_some()).or_else(|| top.iter().find(|c| c.name.ends_with("Request")));
    let response = top.iter().find(|c| c.extends.as_ref().is_some_and(|e| e.name == "DoudianOpResponse"));
    let first_arg = |class: Option<&JavaClass>| class?.extends.as_ref()?.args.first().cloned();
    let param_root = match first_arg(request) {
        Some(arg) if arg.args.is_empty() && arg.arrays == 0 && !arg.qualified => Some(arg.name),
        _ => only(param_classes.keys().filter(|name| name.ends_with("Param"))),
    };
    let data = match first_arg(response) {
        Some(arg) => Some(raw_type(&arg)),
        None => {
            let stem = request.and_then(|r| r.name.strip_suffix("Request")).unwrap_or_default();
            let named = format!("{stem}Data");
            if data_classes.contains_key(&named) {
                Some(RawType::Class(named))
            } else {
                only(data_classes.keys().filter(|name| name.ends_with("Data"))).map(RawType::Class)
            }
        }
    };
    ScannedMethod {
        package: package.to_owned(),
        url_path: request.and_then(|r| r.url_path.clone()),
        param_root,
        param_classes,
        data,
        data_classes,
        notes,
    }
}

fn to_classes(classes: impl Iterator<Item = JavaClass>, notes: &mut Vec<String>) -> Classes {
    let mut out = Classes::new();
    for class in classes {
        if out.insert(class.name.clone(), class.fields).is_some() {
            notes.push(format!("class `{}` is declared twice; the last one is used", class.name));
        }
    }
    out
}

/// The one item of an iterator, or `None` when there are none or several.
fn only<'a>(mut items: impl Iterator<Item = &'a String>) -> Option<String> {
    let first = items.next()?;
    items.next().is_none().then(|| first.clone())
}

/// The classes of one file (nested classes included). `required` is read from `@OpField`
/// only on the parameter side: the platform's data classes do not mean anything by it.
fn scan_file(text: &str, params: bool) -> Vec<JavaClass> {
    let tokens = tokenize(text, Syntax::Java);
    let mut classes = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i] == Token::Word("class".into()) {
            i = parse_class(&tokens, i, params, &mut classes);
        } else {
            i += 1;
        }
    }
    classes
}

/// Parses the class whose `class` keyword is at `at`; returns the index after its body.
fn parse_class(tokens: &[Token], at: usize, params: bool, out: &mut Vec<JavaClass>) -> usize {
    let Some(Token::Word(name)) = tokens.get(at + 1) else { return at + 1 };
    let mut class = JavaClass { name: name.clone(), ..JavaClass::default() };
    let mut i = at + 2;
    if tokens.get(i) == Some(&Token::Punct('<')) {
        i = matching(tokens, i) + 1;
    }
    if tokens.get(i) == Some(&Token::Word("extends".into())) {
        let (extends, used) = parse_type(&tokens[(i + 1).min(tokens.len())..], 0);
        class.extends = extends;
        i += 1 + used;
    }
    // `implements ...` and anything else up to the body.
    while i < tokens.len() && tokens[i] != Token::Punct('{') {
        i += 1;
    }
    let end = matching(tokens, i);
    let body = &tokens[(i + 1).min(end)..end.min(tokens.len())];
    parse_members(&mut class, body, params, out);
    out.push(class);
    end + 1
}

const MODIFIERS: &[&str] = &[
    "public",
    "protected",
    "private",
    "static",
    "final",
    "transient",
    "volatile",
    "abstract",
    "synchronized",
    "native",
];

/// Reads a class body: fields with their annotations, `getUrlPath`'s string, nested classes.
fn parse_members(class: &mut JavaClass, body: &[Token], params: bool, out: &mut Vec<JavaClass>) {
    let mut i = 0;
    while i < body.len() {
        let mut annotations: Vec<(String, &[Token])> = Vec::new();
        while body.get(i) == Some(&Token::Punct('@')) {
            let (name, used) = qualified_name(&body[i + 1..]);
            i += 1 + used.max(1);
            let mut args: &[Token] = &[];
            if body.get(i) == Some(&Token::Punct('(')) {
                let close = matching(body, i);
                args = &body[i + 1..close.min(body.len())];
                i = close + 1;
            }
            annotations.push((name, args));
        }
        let mut skipped_by_gson = false;
        while let Some(Token::Word(w)) = body.get(i) {
            if !MODIFIERS.contains(&w.as_str()) {
                break;
            }
            skipped_by_gson |= w == "static" || w == "transient";
            i += 1;
        }
        match body.get(i) {
            None => break,
            Some(Token::Word(w)) if w == "class" => {
                i = parse_class(body, i, params, out);
                continue;
            }
            Some(Token::Word(w)) if matches!(w.as_str(), "interface" | "enum" | "record") => {
                while i < body.len() && body[i] != Token::Punct('{') {
                    i += 1;
                }
                i = matching(body, i) + 1;
                continue;
            }
            Some(Token::Punct('{')) => {
                i = matching(body, i) + 1;
                continue;
            }
            Some(Token::Punct('<')) => {
                // A generic method's type parameters; its return type follows.
                i = matching(body, i) + 1;
                continue;
            }
            _ => {}
        }
        let (ty, used) = parse_type(&body[i..], 0);
        let Some(ty) = ty else {
            i += 1;
            continue;
        };
        i += used;
        let member = match body.get(i) {
            Some(Token::Word(member)) => {
                i += 1;
                member.clone()
            }
            // A constructor: what looked like a type is its name.
            Some(Token::Punct('(')) => ty.name.clone(),
            _ => {
                i = skip_member(body, i);
                continue;
            }
        };
        if body.get(i) == Some(&Token::Punct('(')) {
            let after_params = matching(body, i) + 1;
            let mut j = after_params;
            while j < body.len() && !matches!(body[j], Token::Punct('{' | ';')) {
                j += 1;
            }
            if body.get(j) == Some(&Token::Punct('{')) {
                let close = matching(body, j);
                if member == "getUrlPath" {
                    class.url_path = returned_string(&body[j..close.min(body.len())]);
                }
                i = close + 1;
            } else {
                i = j + 1;
            }
            continue;
        }
        i = skip_member(body, i);
        if skipped_by_gson {
            continue;
        }
        let serialized = annotations.iter().find(|(name, _)| name == "SerializedName");
        let json = serialized.and_then(|(_, args)| serialized_name(args)).unwrap_or_else(|| member.clone());
        let op_field = annotations.iter().find(|(name, _)| name == "OpField").map(|(_, args)| *args);
        let required = params && op_field.and_then(|args| argument(args, "required")).is_some_and(|v| v == "true");
        let example = op_field.and_then(|args| argument(args, "example")).filter(|e| !e.is_empty());
        class.fields.push(RawField { json, ty: raw_type(&ty), required, example });
    }
}

/// The index after the `;` that ends the member starting at `i` (brackets skipped).
fn skip_member(body: &[Token], mut i: usize) -> usize {
    while i < body.len() {
        match body[i] {
            Token::Punct(';') => return i + 1,
            Token::Punct('{' | '(' | '[') => i = matching(body, i) + 1,
            _ => i += 1,
        }
    }
    i
}

/// The first string a method body returns.
fn returned_string(body: &[Token]) -> Option<String> {
    body.windows(2).find_map(|pair| match pair {
        [Token::Word(w), Token::Str(s)] if w == "return" => Some(s.clone()),
        _ => None,
    })
}

/// `a.b.C`: the last segment and the number of tokens used.
fn qualified_name(tokens: &[Token]) -> (String, usize) {
    let mut i = 0;
    let mut name = String::new();
    while let Some(Token::Word(w)) = tokens.get(i) {
        name = w.clone();
        i += 1;
        if tokens.get(i) == Some(&Token::Punct('.')) && matches!(tokens.get(i + 1), Some(Token::Word(_))) {
            i += 1;
        } else {
            break;
        }
    }
    (name, i)
}

/// `@SerializedName("x")` or `@SerializedName(value = "x", alternate = {...})`.
fn serialized_name(args: &[Token]) -> Option<String> {
    match args.first() {
        Some(Token::Str(s)) => Some(s.clone()),
        _ => argument(args, "value"),
    }
}

/// The value of `key = value` in annotation arguments: strings joined (`"a" + "b"`), or a
/// word (`true`).
fn argument(args: &[Token], key: &str) -> Option<String> {
    let mut depth = 0usize;
    for (i, token) in args.iter().enumerate() {
        match token {
            Token::Punct('(' | '{' | '[') => depth += 1,
            Token::Punct(')' | '}' | ']') => depth = depth.saturating_sub(1),
            Token::Word(w) if depth == 0 && w == key && args.get(i + 1) == Some(&Token::Punct('=')) => {
                let value = &args[i + 2..];
                let end = value.iter().position(|t| *t == Token::Punct(',')).unwrap_or(value.len());
                let value = &value[..end];
                let strings: Vec<&str> = value
                    .iter()
                    .filter_map(|t| match t {
                        Token::Str(s) => Some(s.as_str()),
                        _ => None,
                    })
                    .collect();
                return match (strings.is_empty(), value.first()) {
                    (false, _) => Some(strings.concat()),
                    (true, Some(Token::Word(w))) => Some(w.clone()),
                    _ => None,
                };
            }
            _ => {}
        }
    }
    None
}

/// Deeper generic nesting than this is not generated code.
const MAX_DEPTH: usize = 32;

/// Parses a Java type at the start of `tokens`; `None` (with 0 used) when there is none.
fn parse_type(tokens: &[Token], depth: usize) -> (Option<JavaType>, usize) {
    if depth > MAX_DEPTH {
        return (None, 0);
    }
    let (name, mut i) = qualified_name(tokens);
    if i == 0 {
        return (None, 0);
    }
    let mut args = Vec::new();
    if tokens.get(i) == Some(&Token::Punct('<')) {
        let close = matching(tokens, i);
        let mut j = i + 1;
        while j < close.min(tokens.len()) {
            if tokens[j] == Token::Punct('?') {
                // A wildcard (`? extends T`): an open value.
                args.push(JavaType {
                    name: "Object".into(),
                    qualified: false,
                    args: vec![],
                    arrays: 0,
                    text: "?".into(),
                });
                j += 1;
                while j < close && tokens[j] != Token::Punct(',') {
                    j += 1;
                }
            } else {
                let (arg, used) = parse_type(&tokens[j..close.min(tokens.len())], depth + 1);
                match arg {
                    Some(arg) => args.push(arg),
                    None => return (None, 0),
                }
                j += used;
            }
            if tokens.get(j) == Some(&Token::Punct(',')) {
                j += 1;
            } else if j < close {
                return (None, 0);
            }
        }
        i = close + 1;
    }
    let mut arrays = 0;
    while tokens.get(i) == Some(&Token::Punct('[')) && tokens.get(i + 1) == Some(&Token::Punct(']')) {
        arrays += 1;
        i += 2;
    }
    let used = i.min(tokens.len());
    let qualified = tokens[..used].contains(&Token::Punct('.'));
    (Some(JavaType { name, qualified, args, arrays, text: describe(&tokens[..used]) }), used)
}

/// The language-neutral type of a Java type.
fn raw_type(ty: &JavaType) -> RawType {
    let mut raw = element_type(ty);
    for _ in 0..ty.arrays {
        raw = RawType::List(Box::new(raw));
    }
    raw
}

fn element_type(ty: &JavaType) -> RawType {
    let arg = |i: usize| ty.args.get(i).map_or(RawType::Any, raw_type);
    match (ty.name.as_str(), ty.args.len()) {
        ("String" | "CharSequence" | "char" | "Character", 0) => RawType::String,
        ("Long" | "long", 0) => RawType::I64,
        ("Integer" | "int" | "Short" | "short" | "Byte" | "byte", 0) => RawType::I32,
        ("Double" | "double" | "Float" | "float", 0) => RawType::F64,
        ("Boolean" | "boolean", 0) => RawType::Bool,
        ("Object" | "JsonObject" | "JsonElement", 0) => RawType::Any,
        ("List" | "ArrayList" | "LinkedList" | "Set" | "HashSet" | "Collection", 0 | 1) => {
            RawType::List(Box::new(arg(0)))
        }
        ("Map" | "HashMap" | "LinkedHashMap" | "TreeMap", 2) => RawType::Map(Box::new(arg(0)), Box::new(arg(1))),
        (name, 0) if !ty.qualified => RawType::Class(name.to_owned()),
        _ => RawType::Unknown(ty.text.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(text: &str) -> RawType {
        let tokens = tokenize(text, Syntax::Java);
        let (ty, used) = parse_type(&tokens, 0);
        assert_eq!(used, tokens.len(), "{text}");
        raw_type(&ty.unwrap())
    }

    #[test]
    fn types() {
        let list = |t: RawType| RawType::List(Box::new(t));
        assert_eq!(ty("Long"), RawType::I64);
        assert_eq!(ty("java.util.List<ShopOrderListItem>"), list(RawType::Class("ShopOrderListItem".into())));
        assert_eq!(ty("List<List<String>>"), list(list(RawType::String)));
        assert_eq!(ty("int[]"), list(RawType::I32));
        assert_eq!(
            ty("Map<Long, List<Tag>>"),
            RawType::Map(Box::new(RawType::I64), Box::new(list(RawType::Class("Tag".into()))))
        );
        assert_eq!(ty("List<? extends Object>"), list(RawType::Any));
        assert_eq!(ty("java.util.Date"), RawType::Unknown("java.util.Date".into()));
        assert_eq!(ty("Optional<String>"), RawType::Unknown("Optional<String>".into()));
        assert_eq!(ty("Date"), RawType::Class("Date".into()));
    }

    const PARAM: &str = r#"package com.doudian.open.api.demo_get.param;
import com.doudian.open.gson.annotations.SerializedName;
//auto generated, do not edit
public class DemoGetParam {
	private static final long serialVersionUID = 1L;
	@SerializedName("page_size")
	@OpField(required = true , desc = "size, \"max\" 100", example= "20")
	private Long pageSize;
	@SerializedName(value = "tags", alternate = {"tag_list"})
	@OpField(required = false, desc = "a" + "b", example = "")
	private Map<String,String> tags;
	private transient String cache;
	private Boolean noAnnotation;
	public DemoGetParam() { this.pageSize = 20L; }
	public void setPageSize(Long pageSize){ this.pageSize = pageSize; }
	public static class Inner { @SerializedName("x") private Integer x; }
}
"#;

    #[test]
    fn fields_annotations_and_nested_classes() {
        let classes = scan_file(PARAM, true);
        let names: Vec<&str> = classes.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["Inner", "DemoGetParam"]);
        let fields = &classes[1].fields;
        assert_eq!(
            fields[0],
            RawField { json: "page_size".into(), ty: RawType::I64, required: true, example: Some("20".into()) }
        );
        assert_eq!((fields[1].json.as_str(), fields[1].required, &fields[1].example), ("tags", false, &None));
        assert_eq!(fields[2].json, "noAnnotation", "Gson uses the Java name without @SerializedName");
        assert_eq!(fields.len(), 3, "static and transient fields are not serialised");
        assert_eq!(classes[0].fields[0].ty, RawType::I32);
    }

    #[test]
    fn request_and_response_classes_give_the_roots() {
        let request = r#"package com.doudian.open.api.demo_get;
public class DemoGetRequest extends DoudianOpRequest<DemoGetParam> {
	@Override
	public String getUrlPath(){
		return "/demo/get";
	}
	@Override
	public  Class<? extends DoudianOpResponse<?>> getResponseClass(){ return DemoGetResponse.class; }
}"#;
        let response = "public class DemoGetResponse extends DoudianOpResponse<List<DemoGetData>> {}";
        let scanned = scan_package("demo_get", &[request, response], &[PARAM], &[]);
        assert_eq!(scanned.url_path.as_deref(), Some("/demo/get"));
        assert_eq!(scanned.param_root.as_deref(), Some("DemoGetParam"));
        assert_eq!(scanned.data, Some(RawType::List(Box::new(RawType::Class("DemoGetData".into())))));
    }

    #[test]
    fn every_prefix_of_a_file_scans_without_panic() {
        let chars: Vec<char> = PARAM.chars().collect();
        for end in 0..chars.len() {
            let text: String = chars[..end].iter().collect();
            scan_package("p", &[&text], &[&text], &[&text]);
        }
    }
}
