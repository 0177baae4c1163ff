//! Code sets: the statuses and types the platform sends as bare numbers, as open newtypes.
//!
//! Each is a newtype over the wire number with named constants for the values the SDK
//! knows; any other value is kept as it came (the platform adds values without notice, and
//! a closed enum would then fail to decode). `Debug` shows the name when it is known.
//! They decode from a number or a string of digits, like every integer the SDK reads, and
//! the generated types use them wherever the platform sends them (`order_status`,
//! `main_status`, `aftersale_type`, `aftersale_status`, a product's `status`).
//!
//! ```
//! use doudian_sdk::codes::OrderStatus;
//!
//! let status = OrderStatus::from(2);
//! assert_eq!(status, OrderStatus::AWAITING_SHIPMENT);
//! assert_eq!(format!("{status:?}"), "OrderStatus::AWAITING_SHIPMENT(2)");
//! assert_eq!(status.label(), Some("备货中"));
//! // A value the SDK does not know is kept, not rejected.
//! assert_eq!(format!("{:?}", OrderStatus::from(42)), "OrderStatus(42)");
//! ```

use std::fmt;

macro_rules! code_set {
    (
        $(#[$doc:meta])*
        $name:ident {
            $( $(#[$const_doc:meta])* $constant:ident = $value:literal, $label:literal; )*
        }
    ) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(pub i64);

        impl $name {
            $( $(#[$const_doc])* pub const $constant: Self = Self($value); )*

            /// The wire number.
            pub fn code(self) -> i64 {
                self.0
            }

            /// The constant's name, when the value is one the SDK knows.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $value => Some(stringify!($constant)), )*
                    _ => None,
                }
            }

            /// The platform's Chinese label, when the value is one the SDK knows.
            pub fn label(self) -> Option<&'static str> {
                match self.0 {
                    $( $value => Some($label), )*
                    _ => None,
                }
            }

            /// Every value the SDK knows.
            pub const KNOWN: &'static [Self] = &[$( Self::$constant ),*];
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(name) => write!(f, "{}::{}({})", stringify!($name), name, self.0),
                    None => write!(f, "{}({})", stringify!($name), self.0),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl From<i64> for $name {
            fn from(code: i64) -> Self {
                Self(code)
            }
        }

        impl From<$name> for i64 {
            fn from(code: $name) -> i64 {
                code.0
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_i64(self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                <i64 as crate::de::Lenient>::lenient(deserializer).map(Self)
            }
        }

        impl crate::de::Lenient for $name {
            fn lenient<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                <i64 as crate::de::Lenient>::lenient(deserializer).map(Self)
            }
            fn lenient_option<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Self>, D::Error> {
                <i64 as crate::de::Lenient>::lenient_option(deserializer).map(|code| code.map(Self))
            }
        }
    };
}

code_set! {
    /// An order's status (`order_status`).
    OrderStatus {
        /// Created, not paid yet (cash-on-delivery orders: not confirmed yet).
        AWAITING_PAYMENT = 1, "待支付";
        /// Paid and being prepared: the only status in which an order can be shipped.
        AWAITING_SHIPMENT = 2, "备货中";
        /// Shipped (every parcel).
        SHIPPED = 3, "已发货";
        /// Cancelled.
        CANCELED = 4, "已取消";
        /// Completed: received by the buyer.
        COMPLETED = 5, "已完成";
        /// Some of its parcels shipped.
        PARTLY_SHIPPED = 101, "部分发货";
    }
}

code_set! {
    /// An order's main status (`main_status`): [`OrderStatus`] with the payment split out.
    MainStatus {
        /// Not paid yet.
        AWAITING_PAYMENT = 1, "待支付";
        /// Being prepared.
        PREPARING = 2, "备货中";
        /// Shipped (every parcel).
        SHIPPED = 3, "已发货";
        /// Cancelled.
        CANCELED = 4, "已取消";
        /// Completed.
        COMPLETED = 5, "已完成";
        /// Some of its parcels shipped.
        PARTLY_SHIPPED = 101, "部分发货";
        /// Partly paid (instalments, deposits).
        PARTLY_PAID = 103, "部分支付";
        /// Paid: awaiting shipment.
        PAID = 105, "已支付";
    }
}

code_set! {
    /// What an after-sale request asks for (`aftersale_type`).
    AfterSaleType {
        /// Return the goods and refund.
        RETURN_AND_REFUND = 0, "退货退款";
        /// Refund only; the goods were shipped.
        REFUND_AFTER_SHIPMENT = 1, "已发货仅退款";
        /// Refund only; the goods were not shipped.
        REFUND_BEFORE_SHIPMENT = 2, "未发货仅退款";
        /// Exchange the goods.
        EXCHANGE = 3, "换货";
        /// A price-protection refund.
        PRICE_PROTECTION = 6, "价保";
        /// Send missing goods again.
        RESEND = 7, "补寄";
        /// Repair.
        REPAIR = 8, "维修";
    }
}

code_set! {
    /// Where an after-sale request stands (`aftersale_status`).
    AfterSaleStatus {
        /// Waiting for the seller to agree.
        AWAITING_SELLER = 6, "待商家处理";
        /// Return agreed: waiting for the buyer to send the goods back.
        AWAITING_RETURN = 7, "待买家退货";
        /// The buyer sent the goods back: waiting for the seller to receive them.
        RETURN_SHIPPED = 11, "待商家收货";
        /// Refunded (or exchanged): done.
        SUCCEEDED = 12, "售后成功";
        /// The seller refused the request.
        REFUSED = 27, "商家拒绝";
        /// Closed without success.
        FAILED = 28, "售后失败";
        /// The seller refused the refund after the return.
        REFUND_REFUSED_AFTER_RETURN = 29, "退货后拒绝退款";
    }
}

code_set! {
    /// A product's status (`status` of `product.detail`, `product.listV2`).
    ProductStatus {
        /// On sale.
        ON_SALE = 0, "上架";
        /// Off the shelf.
        OFF_SHELF = 1, "下架";
        /// Deleted.
        DELETED = 2, "已删除";
    }
}

/// A code written as a string of digits (`"2"`), for fields the platform sends as text.
/// Used by the generated types.
#[doc(hidden)]
pub struct Digits<C>(pub C);

impl<C: Copy + Into<i64>> serde::Serialize for Digits<C> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown_values() {
        assert_eq!(OrderStatus::from(5), OrderStatus::COMPLETED);
        assert_eq!(OrderStatus::COMPLETED.name(), Some("COMPLETED"));
        assert_eq!(OrderStatus::from(77).name(), None);
        assert_eq!(format!("{:?}", AfterSaleStatus::from(6)), "AfterSaleStatus::AWAITING_SELLER(6)");
        assert_eq!(AfterSaleType::KNOWN.len(), 7);
        assert_eq!(MainStatus::PAID.label(), Some("已支付"));
        assert_eq!(ProductStatus::OFF_SHELF.to_string(), "1");
    }

    #[test]
    fn decode_from_numbers_and_digit_strings_and_encode_as_numbers() {
        let from_number: OrderStatus = serde_json::from_str("2").unwrap();
        let from_text: OrderStatus = serde_json::from_str("\"2\"").unwrap();
        assert_eq!((from_number, from_text), (OrderStatus::AWAITING_SHIPMENT, OrderStatus::AWAITING_SHIPMENT));
        assert!(serde_json::from_str::<OrderStatus>("\"two\"").is_err());
        assert_eq!(serde_json::to_string(&OrderStatus::SHIPPED).unwrap(), "3");
        assert_eq!(serde_json::to_string(&Some(Digits(OrderStatus::SHIPPED))).unwrap(), "\"3\"");
    }
}
