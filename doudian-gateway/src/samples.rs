//! Sample `data` per method, from `data/samples.json`
//! (`{"<method>": {"request": {...}, "response": {...data...}}}`), which `cargo xtask gen`
//! writes into this crate so that its package carries it; parsed once on first use.
//! Methods without stateful behaviour answer with their sample. `data/message_samples.json`
//! holds one `data` per push message type, keyed by tag (by type name where the tag is
//! unpublished).

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Deserialize;
use serde_json::value::RawValue;

static SAMPLES_JSON: &str = include_str!("../data/samples.json");

#[derive(Deserialize)]
struct Sample {
    response: Box<RawValue>,
}

static SAMPLES: LazyLock<HashMap<String, Box<RawValue>>> =
    LazyLock::new(|| match serde_json::from_str::<HashMap<String, Sample>>(SAMPLES_JSON) {
        Ok(map) => map.into_iter().map(|(method, s)| (method, s.response)).collect(),
        Err(e) => {
            tracing::error!(error = %e, "samples.json does not parse; methods without a model will be unknown");
            HashMap::new()
        }
    });

static MESSAGE_SAMPLES_JSON: &str = include_str!("../data/message_samples.json");

static MESSAGE_SAMPLES: LazyLock<HashMap<String, Box<RawValue>>> =
    LazyLock::new(|| match serde_json::from_str(MESSAGE_SAMPLES_JSON) {
        Ok(map) => map,
        Err(e) => {
            tracing::error!(error = %e, "message_samples.json does not parse; no sample pushes");
            HashMap::new()
        }
    });

/// The sample `data` of a push message type, by its tag as text (`"100"`) or, for a type
/// whose tag is unpublished, its type name (`"BtasSellerSendOrderToSc"`).
pub(crate) fn message_sample(key: &str) -> Option<&'static RawValue> {
    MESSAGE_SAMPLES.get(key).map(|raw| &**raw)
}

/// The sample `data` text of `method`, if the spec has it.
pub(crate) fn sample_data(method: &str) -> Option<&'static str> {
    SAMPLES.get(method).map(|raw| raw.get())
}

/// How many methods have samples.
pub(crate) fn sample_count() -> usize {
    SAMPLES.len()
}

/// Every method with a sample, sorted.
pub(crate) fn sample_methods() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = SAMPLES.keys().map(String::as_str).collect();
    names.sort_unstable();
    names
}
