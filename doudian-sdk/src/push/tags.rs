//! Tag numbers the user registers for push messages whose tag no copy publishes
//! ([`Message::UNTAGGED`]): the console shows the number when the app subscribes, and from
//! then on pushes of that tag arrive typed.
//!
//! The registry is process-wide on purpose: a tag number means the same message for every
//! app and every client, and pushes are decoded where no client is at hand
//! ([`PushRecord::decode`](super::PushRecord::decode)).

use super::Message;
use crate::error::Error;
use std::collections::BTreeMap;
use std::sync::RwLock;

static REGISTERED: RwLock<BTreeMap<u32, &'static str>> = RwLock::new(BTreeMap::new());

/// Registers `tag` as the tag number of the message type `name` (its type name,
/// `TradeAppointment`, or event name, `trade_TradeAppointment`): later pushes of that tag
/// decode as that type instead of arriving as
/// [`PushEvent::Unknown`](super::PushEvent::Unknown).
///
/// Registering the same pair again is fine. It is an error to register a tag the SDK
/// already knows (a published tag, or the test push `0`), a tag already registered for
/// another type, or a name that is no message type.
///
/// ```rust
/// use doudian_sdk::push::{register_tag, Message, PushEvent, PushRecord};
///
/// register_tag(9001, "btas_sellerSendOrderToSc").unwrap();
/// let record = PushRecord::new("9001", "m1", r#"{"order_code":"0654497435"}"#);
/// let PushEvent::Message { message, .. } = record.decode().unwrap() else { panic!() };
/// assert!(matches!(*message, Message::BtasSellerSendOrderToSc(_)));
/// assert!(register_tag(100, "TradeAppointment").is_err(), "100 is TradeCreate's tag");
/// ```
pub fn register_tag(tag: u32, name: &str) -> Result<(), Error> {
    let Some(type_name) = Message::type_name(name) else {
        return Err(Error::config(format!("push message `{name}` is not a message type the SDK has")));
    };
    if tag == 0 || Message::TAGS.contains(&tag) {
        return Err(Error::config(format!("push tag {tag} is already a known tag; it cannot be registered")));
    }
    let mut registered = REGISTERED.write().unwrap_or_else(|poisoned| poisoned.into_inner());
    match registered.get(&tag) {
        Some(&other) if other != type_name => {
            Err(Error::config(format!("push tag {tag} is already registered for `{other}`, not `{type_name}`")))
        }
        _ => {
            registered.insert(tag, type_name);
            Ok(())
        }
    }
}

/// The message type registered for `tag`, if any.
pub fn registered_type(tag: u32) -> Option<&'static str> {
    REGISTERED.read().unwrap_or_else(|poisoned| poisoned.into_inner()).get(&tag).copied()
}
