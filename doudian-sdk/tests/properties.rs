//! Property tests (proptest) that keep running: canonical param_json against a small
//! independent oracle, mutated replies through the typed decoders, push and SPI
//! verification.
//!
//! CI runs the default case counts (256 per property, a few seconds). For a longer run:
//! `PROPTEST_CASES=20000 cargo test --release -p doudian-sdk --features full --test properties`
//! (2026-11-29, 2 cores: 5 properties × 20,000 cases, 0 failures, 45 s after the build).

use std::collections::BTreeMap;

use doudian_sdk::push::{parse_body, sign_push_body, PushVerifier};
use doudian_sdk::sign::{canonical_param_json, sign};
#[cfg(feature = "spi")]
use doudian_sdk::spi::{SpiParams, SpiVerifier};
use doudian_sdk::{AppSecret, SignMethod};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------
// The oracle: a JSON tree generated here, written twice — as input text (keys in any
// order, whitespace, escapes chosen at random) and as the expected canonical text, by the
// rules of PROTOCOL.md §2.2 written out independently of the SDK's writer.

#[derive(Debug, Clone)]
enum Tree {
    Literal(String),
    Text(String),
    List(Vec<Tree>),
    /// Keys in the order the input text will carry them (distinct keys).
    Object(Vec<(String, Tree)>),
}

fn number_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        "-?(0|[1-9][0-9]{0,25})".prop_map(|s| s),
        "-?(0|[1-9][0-9]{0,5})\\.[0-9]{1,6}".prop_map(|s| s),
        "-?[1-9]\\.[0-9]{1,3}[eE][+-]?[0-9]{1,2}".prop_map(|s| s),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => "[a-zA-Z0-9 _/<>&='-]",
            1 => Just("\"".to_owned()),
            1 => Just("\\".to_owned()),
            1 => "[\u{0}-\u{1f}\u{7f}]",
            1 => "[\u{2028}\u{2029}]",
            2 => "[一-龥éü€😀𝄞]",
        ],
        0..12,
    )
    .prop_map(|parts| parts.concat())
}

fn tree() -> impl Strategy<Value = Tree> {
    let leaf = prop_oneof![
        number_literal().prop_map(Tree::Literal),
        prop_oneof![Just("true"), Just("false"), Just("null")].prop_map(|s| Tree::Literal(s.to_owned())),
        text().prop_map(Tree::Text),
    ];
    leaf.prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Tree::List),
            prop::collection::btree_map(text(), inner, 0..6).prop_map(|map| Tree::Object(map.into_iter().collect())),
        ]
    })
}

/// A JSON string literal with the canonical escapes: `"`, `\`, `\n \r \t \b \f` short,
/// other controls `\u00xx` lower-case, U+2028/U+2029 escaped, everything else raw.
fn canonical_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn expected(tree: &Tree) -> String {
    match tree {
        Tree::Literal(text) => text.clone(),
        Tree::Text(s) => canonical_string(s),
        Tree::List(items) => format!("[{}]", items.iter().map(expected).collect::<Vec<_>>().join(",")),
        Tree::Object(members) => {
            // Byte order of the UTF-8 keys.
            let sorted: BTreeMap<&[u8], &Tree> = members.iter().map(|(k, v)| (k.as_bytes(), v)).collect();
            let parts: Vec<String> = sorted
                .into_iter()
                .map(|(k, v)| format!("{}:{}", canonical_string(std::str::from_utf8(k).unwrap()), expected(v)))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
    }
}

/// The input text: any key order (given by `shuffle`), optional whitespace, and strings
/// escaped in any valid way (`\u` escapes, surrogate pairs, `\/`).
fn input(tree: &Tree, choices: &mut impl Iterator<Item = u8>) -> String {
    let mut pick = || choices.next().unwrap_or(0);
    match tree {
        Tree::Literal(text) => text.clone(),
        Tree::Text(s) => {
            let mut out = String::from("\"");
            for c in s.chars() {
                let escape = pick() % 3 == 0;
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '/' if escape => out.push_str("\\/"),
                    c if (c as u32) < 0x20 || escape => {
                        let mut units = [0u16; 2];
                        for unit in c.encode_utf16(&mut units) {
                            out.push_str(&format!("\\u{unit:04X}"));
                        }
                    }
                    c => out.push(c),
                }
            }
            out.push('"');
            out
        }
        Tree::List(items) => {
            let parts: Vec<String> = items.iter().map(|item| input(item, choices)).collect();
            format!("[ {} ]", parts.join(" ,\n"))
        }
        Tree::Object(members) => {
            let mut order: Vec<usize> = (0..members.len()).collect();
            // A rotation by a generated amount, then reversed on odd choices.
            let turn = choices.next().unwrap_or(0) as usize;
            if !order.is_empty() {
                order.rotate_left(turn % members.len());
            }
            if turn % 2 == 1 {
                order.reverse();
            }
            let parts: Vec<String> = order
                .into_iter()
                .map(|i| format!("{}\t:{}", canonical_string(&members[i].0), input(&members[i].1, choices)))
                .collect();
            format!("{{ {} }}", parts.join(", "))
        }
    }
}

proptest! {
    // Case counts from PROPTEST_CASES (default 256); failures are reported, not persisted.
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn canonical_param_json_matches_the_oracle(
        members in prop::collection::btree_map(text(), tree(), 0..6),
        choices in prop::collection::vec(any::<u8>(), 64),
    ) {
        let tree = Tree::Object(members.into_iter().collect());
        let text = input(&tree, &mut choices.into_iter().cycle());
        let canonical = canonical_param_json(&text).map_err(|e| TestCaseError::fail(format!("{e}: {text}")))?;
        prop_assert_eq!(&canonical, &expected(&tree), "input: {}", text);
        // Canonical text is a fixed point, and signing it is stable.
        prop_assert_eq!(canonical_param_json(&canonical).unwrap(), canonical.clone());
        let a = sign(SignMethod::HmacSha256, "k", "s", "m", &canonical, "1");
        prop_assert_eq!(a, sign(SignMethod::HmacSha256, "k", "s", "m", &canonical_param_json(&text).unwrap(), "1"));
    }

    #[test]
    fn arbitrary_text_never_panics_the_canonicaliser(text in "\\PC{0,64}|[\\[\\]{}\":,0-9a-z\\\\ -]{0,64}") {
        let _ = canonical_param_json(&text);
    }
}

// ---------------------------------------------------------------------------------------
// Mutated replies: whatever arrives, decoding gives a value or a typed error.

#[cfg(all(feature = "order", feature = "product", feature = "after_sale", feature = "shop"))]
mod replies {
    use super::*;

    fn sample_replies() -> Vec<(String, Vec<u8>)> {
        let samples: serde_json::Value =
            serde_json::from_str(include_str!("../../doudian-gateway/data/samples.json")).expect("samples.json");
        ["order.searchList", "order.orderDetail", "product.detail", "afterSale.List", "shop.brandList"]
        .into_iter()
        .map(|method| {
            let body = serde_json::json!({"code": 10000, "msg": "success", "log_id": "L", "data": samples[method]["response"]});
            (method.to_owned(), serde_json::to_vec(&body).unwrap())
        })
        .collect()
    }

    /// Applies `edits` (position, kind, byte) to `body`.
    fn mutate(mut body: Vec<u8>, edits: &[(usize, u8, u8)]) -> Vec<u8> {
        const ALPHABET: &[u8] = b"[]{}\",:\\0123456789-.eEnulltrue \x00\xff";
        for &(at, kind, byte) in edits {
            let i = if body.is_empty() { 0 } else { at % (body.len() + 1) };
            match kind % 6 {
                0 if i < body.len() => body[i] = ALPHABET[byte as usize % ALPHABET.len()],
                1 if i < body.len() => {
                    body.remove(i);
                }
                2 => body.insert(i, ALPHABET[byte as usize % ALPHABET.len()]),
                3 => body.truncate(i),
                4 => {
                    // Duplicate a slice: lists grow, objects repeat keys.
                    let end = (i + byte as usize).min(body.len());
                    let slice = body[i.min(end)..end].to_vec();
                    body.splice(i..i, slice);
                }
                _ => body.insert(i, byte),
            }
        }
        body
    }

    fn decode_typed(method: &str, body: Vec<u8>) {
        use doudian_sdk::api::{after_sale, order, product, shop};
        use doudian_sdk::client::decode_reply;
        let _ = match method {
            "order.searchList" => decode_reply::<order::OrderSearchListResponse>(method, body).map(drop),
            "order.orderDetail" => decode_reply::<order::OrderOrderDetailResponse>(method, body).map(drop),
            "product.detail" => decode_reply::<product::ProductDetailResponse>(method, body).map(drop),
            "afterSale.List" => decode_reply::<after_sale::AfterSaleListResponse>(method, body).map(drop),
            _ => decode_reply::<shop::ShopBrandListResponse>(method, body).map(drop),
        };
    }

    proptest! {
        // Case counts from PROPTEST_CASES (default 256); failures are reported, not persisted.
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]
        #[test]
        fn mutated_replies_decode_or_fail_typed(
            which in 0usize..5,
            edits in prop::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..8),
        ) {
            let replies = sample_replies();
            let (method, body) = &replies[which];
            decode_typed(method, mutate(body.clone(), &edits));
            decode_typed(method, mutate(body.clone(), &edits).into_iter().filter(|b| *b != b' ').collect());
        }
    }
}

// ---------------------------------------------------------------------------------------
// Push and SPI verification.

proptest! {
    // Case counts from PROPTEST_CASES (default 256); failures are reported, not persisted.
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn a_signed_push_verifies_and_any_changed_byte_does_not(
        body in prop::collection::vec(any::<u8>(), 0..256),
        flip in any::<usize>(),
        secret in "[a-z0-9-]{1,40}",
    ) {
        let verifier = PushVerifier::new("app", AppSecret::new(secret.clone())).accept_hmac_sha256(true);
        for method in [SignMethod::Md5, SignMethod::HmacSha256] {
            let sign = sign_push_body("app", &secret, &body, method);
            prop_assert!(verifier.verify(Some("app"), Some(&sign), &body).is_ok());
            if !body.is_empty() {
                let mut changed = body.clone();
                let i = flip % changed.len();
                changed[i] ^= 0x01;
                prop_assert!(verifier.verify(Some("app"), Some(&sign), &changed).is_err());
            }
        }
        // Verified or not, parsing never panics.
        let _ = parse_body(&body);
    }

    #[cfg(feature = "spi")]
    #[test]
    fn spi_calls_verify_only_with_their_sign(
        param_json in "\\{(\"[a-z]{1,5}\":[1-9][0-9]{0,4},){0,4}\"z\":0\\}",
        timestamp in 1_700_000_000u64..1_800_000_000,
        flip in any::<usize>(),
    ) {
        let verifier = SpiVerifier::new("app", AppSecret::new("spi-secret")).timestamp_window(None);
        let canonical = canonical_param_json(&param_json).unwrap();
        let sign = doudian_sdk::spi::sign(SignMethod::Md5, "app", "spi-secret", &canonical, &timestamp.to_string());
        let params = |sign: &str| {
            SpiParams::from_pairs([
                ("app_key", "app".to_owned()),
                ("timestamp", timestamp.to_string()),
                ("sign", sign.to_owned()),
                ("sign_method", "md5".to_owned()),
                ("param_json", param_json.clone()),
            ])
        };
        prop_assert!(verifier.verify(&params(&sign)).is_ok());
        // Any other sign is refused.
        let mut other: Vec<u8> = sign.clone().into_bytes();
        let i = flip % other.len();
        other[i] = if other[i] == b'0' { b'1' } else { b'0' };
        prop_assert!(verifier.verify(&params(std::str::from_utf8(&other).unwrap())).is_err());
    }
}
