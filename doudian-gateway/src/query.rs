//! The URL query of a call: `app_key`, `method`, `v`, `timestamp`, `sign`, `sign_method`,
//! `access_token` (PROTOCOL.md §1). Values are decoded as a form, by the crate the SDK's
//! SPI verifier uses (`form_urlencoded`): `+` is a space (as GO's `url.Values.Encode`
//! writes it), `%XX` a byte, a malformed escape kept as written; JAVA inserts values
//! unencoded, which decodes to itself.

/// The decoded query pairs of one request, first occurrence wins on lookup.
#[derive(Debug, Default)]
pub(crate) struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub(crate) fn parse(raw: Option<&str>) -> Self {
        Query { pairs: form_urlencoded::parse(raw.unwrap_or("").as_bytes()).into_owned().collect() }
    }

    /// The value of `name`, if present (possibly empty).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The value of `name` when present and not empty.
    pub(crate) fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_values() {
        let q = Query::parse(Some("app_key=7&timestamp=2023-11-15+06%3A13%3A20&sign=&x&bad=%zz%4"));
        assert_eq!(q.get("app_key"), Some("7"));
        assert_eq!(q.get("timestamp"), Some("2023-11-15 06:13:20"));
        assert_eq!(q.get("sign"), Some(""));
        assert_eq!(q.non_empty("sign"), None);
        assert_eq!(q.get("x"), Some(""));
        assert_eq!(q.get("bad"), Some("%zz%4"));
        assert_eq!(q.get("missing"), None);
        assert_eq!(Query::parse(Some("a=%E6%8A%96")).get("a"), Some("抖"));
        assert_eq!(Query::parse(None).get("a"), None);
    }

    /// The SPI verifier (`doudian_sdk::spi`) and the gateway read every query alike:
    /// well-formed or not.
    mod agree_with_the_spi_verifier {
        use std::time::{Duration, UNIX_EPOCH};

        use doudian_sdk::spi::{sign, SpiParams, SpiVerifier};
        use doudian_sdk::SignMethod;
        use proptest::prelude::*;

        use super::Query;

        /// The names the SPI verifier reads.
        const SPI_NAMES: [&str; 6] = ["app_key", "timestamp", "sign", "sign_v2", "sign_method", "param_json"];

        fn spi_value<'a>(params: &'a SpiParams, name: &str) -> Option<&'a str> {
            let value = match name {
                "app_key" => &params.app_key,
                "timestamp" => &params.timestamp,
                "sign" => &params.sign,
                "sign_v2" => &params.sign_v2,
                "sign_method" => &params.sign_method,
                "param_json" => &params.param_json,
                other => unreachable!("{other}"),
            };
            value.as_deref()
        }

        /// Pieces of a query as clients and attackers write them: names, separators,
        /// escapes in both cases, and malformed ones (a lone `%`, one hex digit, `%+5`,
        /// `%-1`, non-hex digits, bytes that are not UTF-8, a cut multi-byte character).
        fn piece() -> impl Strategy<Value = String> {
            prop_oneof![
                prop::sample::select(SPI_NAMES.to_vec()).prop_map(str::to_owned),
                prop::sample::select(vec![
                    "=",
                    "&",
                    "+",
                    "%",
                    "%4",
                    "%zz",
                    "%+5",
                    "%-1",
                    "% 1",
                    "%G0",
                    "%%41",
                    "%4%41",
                    "%ff",
                    "%C3",
                    "%E6%8A",
                    "%E6%8A%96",
                    "%e6%8a%96",
                    "%20",
                    "%2B",
                    "%26",
                    "%3D",
                    "%25",
                    "抖",
                    "?",
                    "#",
                ])
                .prop_map(str::to_owned),
                "[a-zA-Z0-9_.~-]{1,3}",
                any::<u8>().prop_map(|b| format!("%{b:02X}")),
                any::<u8>().prop_map(|b| format!("%{b:02x}")),
            ]
        }

        /// `value` written as a client may write it: each character raw where that is
        /// unambiguous, else percent-encoded in upper or lower case; a space as `+` or `%20`.
        fn written(value: &str, choices: &[u8]) -> String {
            let mut out = String::new();
            for (c, choice) in value.chars().zip(choices.iter().cycle()) {
                let raw_is_safe = c.is_ascii_alphanumeric() || "-_.~*:/,!@$'()[]{}\"".contains(c) || !c.is_ascii();
                match choice % 3 {
                    0 if c == ' ' => out.push('+'),
                    0 if raw_is_safe => out.push(c),
                    lower => {
                        for byte in c.to_string().bytes() {
                            match lower {
                                1 => out.push_str(&format!("%{byte:02X}")),
                                _ => out.push_str(&format!("%{byte:02x}")),
                            }
                        }
                    }
                }
            }
            out
        }

        proptest! {
            // Case counts from PROPTEST_CASES (default 256); failures are reported, not persisted.
            #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

            #[test]
            fn any_query_decodes_the_same(
                pairs in prop::collection::vec((piece(), prop::collection::vec(piece(), 0..8)), 0..8),
            ) {
                let query: Vec<String> = pairs.iter().map(|(name, value)| format!("{name}={}", value.concat())).collect();
                let query = query.join("&");
                let spi = SpiParams::from_request(&query, None).unwrap();
                let gateway = Query::parse(Some(&query));
                for name in SPI_NAMES {
                    prop_assert_eq!(spi_value(&spi, name), gateway.get(name), "`{}` of {:?}", name, query);
                }
            }

            #[test]
            fn a_signed_call_written_any_way_verifies_and_reads_alike(
                param_json in any::<String>(),
                noise in prop::collection::vec(piece(), 0..6),
                choices in prop::collection::vec(any::<u8>(), 1..32),
                hmac in any::<bool>(),
            ) {
                let (key, secret, timestamp) = ("7012345678901234567", "spi-secret", "1700000000");
                let method = if hmac { SignMethod::HmacSha256 } else { SignMethod::Md5 };
                let signature = sign(method, key, secret, &param_json, timestamp);
                let pairs = [
                    ("app_key", key),
                    ("timestamp", timestamp),
                    ("sign_method", method.as_str()),
                    ("sign", &signature),
                    ("param_json", &param_json),
                ];
                let mut query: Vec<String> =
                    pairs.iter().map(|(name, value)| format!("{name}={}", written(value, &choices))).collect();
                // Other names, malformed or not, after the call's own: the first of a name counts.
                query.push(format!("x={}", noise.concat()));
                let query = query.join("&");

                let spi = SpiParams::from_request(&query, None).unwrap();
                let gateway = Query::parse(Some(&query));
                for (name, value) in pairs {
                    prop_assert_eq!(spi_value(&spi, name), Some(value), "{:?}", query);
                    prop_assert_eq!(gateway.get(name), Some(value), "{:?}", query);
                }
                let verifier = SpiVerifier::new(key, secret);
                let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
                prop_assert!(verifier.verify_at(&spi, now).is_ok(), "{:?}", query);
            }
        }
    }
}
