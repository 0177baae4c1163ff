//! Request signing against the known answers in `tests/vectors/sign_vectors.json` (a copy
//! of the protocol reference's vectors) and against cases derived from every rule of PROTOCOL.md §2.2.

use doudian_sdk::sign::{
    canonical_param_json, canonical_value, digest, sign, sign_string, sign_string_masked, to_canonical_json,
    SignMethod, Signer,
};
use doudian_sdk::{AppSecret, Error};
use serde_json::Value;

fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/sign_vectors.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    serde_json::from_str(&text).expect("sign_vectors.json is JSON")
}

fn field<'v>(value: &'v Value, name: &str) -> &'v str {
    value[name].as_str().unwrap_or_else(|| panic!("field `{name}` missing in {value}"))
}

#[test]
fn every_reference_case_signs_as_expected() {
    let vectors = vectors();
    let cases = vectors["cases"].as_array().expect("cases");
    assert!(cases.len() >= 16, "expected the full vector set, got {}", cases.len());
    for case in cases {
        let id = field(case, "id");
        let inputs = &case["inputs"];
        let expected = &case["expected"];
        let (app_key, secret, method, timestamp) = (
            field(inputs, "app_key"),
            field(inputs, "app_secret"),
            field(inputs, "method"),
            field(inputs, "timestamp"),
        );
        assert_eq!(field(inputs, "v"), "2", "{id}");

        let param_json = canonical_param_json(field(inputs, "params_json_text")).unwrap();
        assert_eq!(param_json, field(expected, "param_json"), "{id}: canonical text");
        // The same value through the other two entry points gives the same text.
        assert_eq!(canonical_value(&inputs["params"]), param_json, "{id}: canonical_value");
        assert_eq!(to_canonical_json(&inputs["params"]).unwrap(), param_json, "{id}: typed");

        let string = sign_string(app_key, secret, method, &param_json, timestamp);
        assert_eq!(string, field(expected, "sign_string"), "{id}: sign string");
        assert_eq!(
            sign_string_masked(app_key, method, &param_json, timestamp),
            string.replace(secret, "***"),
            "{id}: masked"
        );

        let md5 = sign(SignMethod::Md5, app_key, secret, method, &param_json, timestamp);
        let hmac = sign(SignMethod::HmacSha256, app_key, secret, method, &param_json, timestamp);
        assert_eq!(md5, field(expected, "sign_md5"), "{id}: md5");
        assert_eq!(hmac, field(expected, "sign_hmac_sha256"), "{id}: hmac");
        assert_eq!(digest(SignMethod::Md5, secret, &string), md5, "{id}: digest md5");
        assert_eq!(digest(SignMethod::HmacSha256, secret, &string), hmac, "{id}: digest hmac");

        let sign_method: SignMethod = field(inputs, "sign_method").parse().unwrap();
        let signer = Signer::new(app_key, AppSecret::new(secret), sign_method);
        assert_eq!(signer.sign(method, &param_json, timestamp), field(expected, "sign"), "{id}");
    }
}

/// `(input text, canonical text)` for each rule of §2.2.
const DERIVED: &[(&str, &str)] = &[
    // 1. key order by UTF-8 bytes: digits < upper case < `_` < lower case < non-ASCII,
    //    `a1` < `a_` < `b`; U+FF21 (EF BC A1) before the emoji (F0 ...) although UTF-16
    //    would put the emoji first.
    (
        r#"{"é":1,"z":2,"Z":3,"_":4,"a_":5,"a1":6,"b":7,"0":8,"日本":9,"😀":10,"Ａ":11,"":12}"#,
        r#"{"":12,"0":8,"Z":3,"_":4,"a1":6,"a_":5,"b":7,"z":2,"é":1,"日本":9,"Ａ":11,"😀":10}"#,
    ),
    // keys compare by their decoded bytes: "\n" (0x0a) < "\"" (0x22) < "\\" (0x5c)
    (r#"{"a\\b":1,"a\"b":2,"a\nb":3}"#, r#"{"a\nb":3,"a\"b":2,"a\\b":1}"#),
    // 2. arrays keep order, objects inside arrays and arrays of arrays are sorted
    (
        r#"{"x":[[{"b":1,"a":[{"d":1,"c":2}]}],[[]],[{}],3,"s"],"a":[2,1]}"#,
        r#"{"a":[2,1],"x":[[{"a":[{"c":2,"d":1}],"b":1}],[[]],[{}],3,"s"]}"#,
    ),
    // 3. compact: whitespace between every token removed, none inside strings
    (
        " \r\n\t{ \"b\" : [ 1 , { \"d\" : \" x y \" , \"c\" : true } ] ,\n\"a\" : null } \n",
        r#"{"a":null,"b":[1,{"c":true,"d":" x y "}]}"#,
    ),
    // 4. strings: controls, short escapes, DEL raw, U+2028/2029 (raw or escaped in input)
    (r#"{"s":"\u0000\u0001\b\f\n\r\t\u001f\u007f\u0020"}"#, "{\"s\":\"\\u0000\\u0001\\b\\f\\n\\r\\t\\u001f\u{7f} \"}"),
    ("{\"s\":\"a\u{2028}b\",\"t\":\"x\\u2029y\"}", r#"{"s":"a\u2028b","t":"x\u2029y"}"#),
    // other E2-prefixed characters stay raw (U+2026 …, U+20AC €)
    ("{\"s\":\"…€\\u2027\"}", "{\"s\":\"…€\u{2027}\"}"),
    // emoji raw, also when the input spelled it as a surrogate pair
    (r#"{"e":"😀","f":"\ud83d\ude00","g":"\uD83D\uDE00"}"#, r#"{"e":"😀","f":"😀","g":"😀"}"#),
    // no HTML escaping; `/` unescaped, also when the input escaped it
    (r#"{"h":"</>&='","u":"a\/b/c"}"#, r#"{"h":"</>&='","u":"a/b/c"}"#),
    (r#"{"h":"\u003c\u003E\u0026\u003d\u0027"}"#, r#"{"h":"<>&='"}"#),
    // escaped input becomes raw UTF-8; quote and backslash stay escaped
    (r#"{"c":"\u00e9\u00E9\u4e2d\"\\"}"#, r#"{"c":"éé中\"\\"}"#),
    // 5. numbers copied exactly: beyond 64 bits, floats, exponents, negative zero
    (
        r#"{"n":123456789012345678901234567890,"m":-98765432109876543210,"i":18446744073709551616}"#,
        r#"{"i":18446744073709551616,"m":-98765432109876543210,"n":123456789012345678901234567890}"#,
    ),
    (
        r#"{"a":1.0,"b":1e10,"c":1E-7,"d":-0.0,"e":2.50,"f":0,"g":-0,"h":1.5E+300}"#,
        r#"{"a":1.0,"b":1e10,"c":1E-7,"d":-0.0,"e":2.50,"f":0,"g":-0,"h":1.5E+300}"#,
    ),
    // 6. booleans and explicit nulls kept, sorted like any key
    (r#"{"b":null,"a":null,"t":true,"f":false}"#, r#"{"a":null,"b":null,"f":false,"t":true}"#),
    // 7. empty parameters and empty nested containers
    ("{}", "{}"),
    (" { } ", "{}"),
    (r#"{"a":{},"b":[],"c":{"d":{}}}"#, r#"{"a":{},"b":[],"c":{"d":{}}}"#),
    // decisions: empty text and `null` mean no parameters; duplicate keys, last wins
    ("", "{}"),
    (" \n\t", "{}"),
    ("null", "{}"),
    (r#"{"b":1,"a":2,"b":3,"c":{"x":1,"x":2}}"#, r#"{"a":2,"b":3,"c":{"x":2}}"#),
];

#[test]
fn derived_rules_canonicalise_text() {
    for (input, expected) in DERIVED {
        let got = canonical_param_json(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(&got, expected, "input {input}");
        // Canonicalising is idempotent.
        assert_eq!(&canonical_param_json(&got).unwrap(), expected, "again {input}");
    }
}

#[test]
fn derived_rules_hold_for_values_and_typed_serialisation() {
    // A `Value` (without `arbitrary_precision`) cannot hold these exactly: number literals
    // beyond i64/u64 or with a fraction, `-0`, duplicate keys, and "no text at all".
    let not_representable = ["1.0", "1e10", "98765432109876543210", "-0", r#""b":1,"a":2,"b":3"#];
    let mut checked = 0;
    for (input, expected) in DERIVED {
        if input.trim().is_empty() || not_representable.iter().any(|s| input.contains(s)) {
            continue;
        }
        let value: Value = serde_json::from_str(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(&canonical_value(&value), expected, "value of {input}");
        assert_eq!(&to_canonical_json(&value).unwrap(), expected, "typed value of {input}");
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} cases checked");
}

#[test]
fn malformed_or_non_object_text_is_a_config_error() {
    for bad in [
        "[]",
        "[{\"a\":1}]",
        "\"text\"",
        "1",
        "true",
        "{",
        "{\"a\":1,}",
        "{\"a\":01}",
        "{\"a\":1} {}",
        "{'a':1}",
        "{\"a\":\"\\ud800\"}",
        "{\"a\":\"\\udc00\"}",
        "{\"a\":\"\\ud83d\\u0041\"}",
        "{\"a\":\"line\nbreak\"}",
        "{\"a\":NaN}",
        "\u{feff}{}",
    ] {
        match canonical_param_json(bad) {
            Err(Error::InvalidRequest(message)) => assert!(message.contains("param_json"), "{message}"),
            other => panic!("{bad:?} gave {other:?}"),
        }
    }
}

#[test]
fn malformed_text_never_panics() {
    // Every prefix of a rich document is either valid or a typed error.
    let doc = r#"{"a":[1,-2.5e+3,{"b":"\u00e9\ud83d\ude00\n"},[null,true,false]],"c":{}}"#;
    for end in (0..=doc.len()).filter(|&i| doc.is_char_boundary(i)) {
        let _ = canonical_param_json(&doc[..end]);
    }
    for (i, _) in doc.char_indices() {
        let mut broken = doc.to_owned();
        broken.remove(i);
        let _ = canonical_param_json(&broken);
    }
}

#[test]
fn derived_case_signature_is_a_known_answer() {
    // Digests computed once with Python's hashlib/hmac over the expected sign string.
    let input = "{\"f\":1.0,\"é\":\"中文\",\"big\":123456789012345678901234567890,\
                 \"a\":[[{\"c\":null,\"b\":\"\\u0001\u{2028}😀</>&='\\/\"}]]}";
    let param_json = canonical_param_json(input).unwrap();
    assert_eq!(
        param_json,
        "{\"a\":[[{\"b\":\"\\u0001\\u2028😀</>&='/\",\"c\":null}]],\
         \"big\":123456789012345678901234567890,\"f\":1.0,\"é\":\"中文\"}"
    );
    let (key, secret) = ("7012345678901234567", "9f8e7d6c-5b4a-4321-8fed-cba987654321");
    let ts = "1700000000";
    assert_eq!(
        sign(SignMethod::Md5, key, secret, "order.searchList", &param_json, ts),
        "ba0b6f42561419aabac1850407de74b6"
    );
    assert_eq!(
        sign(SignMethod::HmacSha256, key, secret, "order.searchList", &param_json, ts),
        "2d6e5f09fe00d805d991511d8aa19e63baefe8b9ed07ce53d860fdda4d1d1a4e"
    );
}

#[test]
fn typed_request_in_declaration_order_matches_the_reference() {
    // A hand-written struct whose fields are NOT in wire order: the fast path must notice.
    #[derive(serde::Serialize)]
    struct CombineStatus {
        order_status: &'static str,
        main_status: &'static str,
    }
    #[derive(serde::Serialize)]
    struct OrderSearchList {
        size: u32,
        page: u32,
        create_time_start: i64,
        create_time_end: i64,
        order_by: &'static str,
        order_asc: bool,
        combine_status: Vec<CombineStatus>,
        #[serde(skip_serializing_if = "Option::is_none")]
        product: Option<String>,
    }
    let request = OrderSearchList {
        size: 20,
        page: 0,
        create_time_start: 1699977600,
        create_time_end: 1700064000,
        order_by: "create_time",
        order_asc: false,
        combine_status: vec![CombineStatus { order_status: "2,3", main_status: "103" }],
        product: None,
    };
    let vectors = vectors();
    let case = vectors["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "order_search_list")
        .expect("order_search_list case");
    assert_eq!(to_canonical_json(&request).unwrap(), field(&case["expected"], "param_json"));
}

#[test]
fn spi_reference_case_canonical_form() {
    let vectors = vectors();
    for case in vectors["spi_cases"].as_array().unwrap() {
        let raw = field(&case["inputs"], "param_json_raw");
        assert_eq!(canonical_param_json(raw).unwrap(), field(&case["expected"], "param_json_canonical"));
    }
}
