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
/// another type, a type that has a published tag, or a name that is no message type.
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
    if !Message::UNTAGGED.contains(&type_name) {
        return Err(Error::config(format!(
            "push message `{type_name}` has a published tag; only a type without one takes a registered tag"
        )));
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::push::{PushEvent, PushRecord};

    // The registry is process-wide: each test uses its own tag numbers.

    #[test]
    fn a_registered_tag_decodes_as_its_type_and_an_unregistered_one_stays_unknown() {
        let data = r#"{"p_id":"7301111111111111111","shop_id":1}"#;
        let before = PushRecord::new("9201", "m1", data).decode().unwrap();
        assert!(matches!(before, PushEvent::Unknown { .. }), "{before:?}");
        register_tag(9201, "order_JadeQualityChangeType").unwrap();
        assert_eq!(registered_type(9201), Some("OrderJadeQualityChangeType"));
        let PushEvent::Message { tag: 9201, message, .. } = PushRecord::new("9201", "m2", data).decode().unwrap()
        else {
            panic!("a registered tag arrives typed")
        };
        let Message::OrderJadeQualityChangeType(changed) = *message else { panic!("{message:?}") };
        assert_eq!(changed.p_id, Some(7_301_111_111_111_111_111.into()));
        assert!(matches!(PushRecord::new("9202", "m3", data).decode().unwrap(), PushEvent::Unknown { .. }));
        assert_eq!(registered_type(9202), None);
        // A registered tag whose data does not fit its type is a decode error, as for a published tag.
        let bad = PushRecord::new("9201", "m4", r#"{"p_id":{"x":1}}"#).decode().unwrap_err();
        assert!(bad.to_string().contains("p_id"), "{bad}");
    }

    #[test]
    fn registration_refuses_known_tags_unknown_names_and_a_second_type() {
        assert!(register_tag(100, "TradeAppointment").is_err(), "100 is TradeCreate's");
        assert!(register_tag(0, "TradeAppointment").is_err(), "0 is the test push");
        assert!(register_tag(9211, "NoSuchMessage").is_err());
        assert!(register_tag(9211, "TradeCreate").is_err(), "TradeCreate has its tag, 100");
        assert_eq!(registered_type(9211), None);
        register_tag(9212, "TradeAppointment").unwrap();
        register_tag(9212, "trade_TradeAppointment").unwrap();
        let error = register_tag(9212, "TradeResourceChange").unwrap_err();
        assert!(error.to_string().contains("TradeAppointment"), "{error}");
        assert_eq!(registered_type(9212), Some("TradeAppointment"));
    }

    #[test]
    fn any_event_decodes_as_a_named_type() {
        let data = r#"{"order_code":"0654497435"}"#;
        let unknown = PushRecord::new("9221", "m1", data).into_event();
        let Message::BtasSellerSendOrderToSc(sent) = unknown.decode_as("BtasSellerSendOrderToSc").unwrap() else {
            panic!("decoded by type name")
        };
        assert_eq!(sent.order_code.as_deref(), Some("0654497435"));
        assert!(matches!(unknown.decode_as("btas_sellerSendOrderToSc"), Ok(Message::BtasSellerSendOrderToSc(_))));
        let unknown_name = unknown.decode_as("NoSuchMessage").unwrap_err();
        assert!(unknown_name.to_string().contains("NoSuchMessage"), "{unknown_name}");
        let misfit = PushRecord::new("9221", "m2", r#"{"order_code":{"x":1}}"#).into_event();
        let failure = misfit.decode_as("BtasSellerSendOrderToSc").unwrap_err();
        assert!(failure.to_string().contains("order_code"), "{failure}");
        // A typed event: itself for its own type, an error for another.
        let created = PushRecord::new("100", "m3", r#"{"p_id":1}"#).into_event();
        assert!(matches!(created.decode_as("trade_TradeCreate"), Ok(Message::TradeCreate(_))));
        assert!(created.decode_as("TradePaid").is_err());
        // A known tag whose data did not fit: its raw data decodes as another type by name.
        let undecodable = PushRecord::new("100", "m4", r#"{"p_id":{"x":1},"order_code":"c"}"#).into_event();
        assert!(matches!(undecodable, PushEvent::Undecodable { .. }));
        assert!(matches!(undecodable.decode_as("BtasSellerSendOrderToSc"), Ok(Message::BtasSellerSendOrderToSc(_))));
    }
}
