//! Time: the gateway clock (which tests can move forward), the three request timestamp
//! forms the official SDKs send (PROTOCOL.md §3), and GMT+8 calendar formatting.
//!
//! Three clocks are in use, each for what it suits:
//! * [`Clock`] — wall-clock time plus a test offset (`POST /_mock/clock`,
//!   `RunningGateway::advance_clock`): what the shop and the tokens live by (lifetimes,
//!   order times, log ids);
//! * [`system_now_ms`] — wall-clock time as is: request timestamps, which clients sign
//!   with their own real clock;
//! * `std::time::Instant` — real monotonic time, which neither the offset nor a stepped
//!   system clock moves: per-method quotas (quota.rs), which are about how fast calls
//!   really arrive.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The gateway's clock: the system clock plus an offset that tests can advance, so that
/// tokens and authorisation codes expire without sleeping. Request timestamps are checked
/// against the *system* clock (clients sign with their real clock).
#[derive(Debug, Default)]
pub(crate) struct Clock {
    offset_ms: AtomicI64,
}

impl Clock {
    /// Milliseconds since the Unix epoch, including the test offset.
    pub(crate) fn now_ms(&self) -> u64 {
        let real = system_now_ms() as i64;
        (real + self.offset_ms.load(Ordering::Relaxed)).max(0) as u64
    }

    pub(crate) fn advance_ms(&self, ms: i64) {
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }
}

/// Milliseconds since the Unix epoch by the system clock.
pub(crate) fn system_now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Why a `timestamp` query value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimestampError {
    /// Not one of the three accepted forms.
    Format,
}

/// Parses a request `timestamp` into Unix milliseconds: Unix seconds (up to 12 digits,
/// GO/PHP/PY), Unix milliseconds (13 digits, JAVA), or `yyyy-MM-dd HH:mm:ss` in GMT+8
/// (the documented form, used by some community SDKs).
pub(crate) fn parse_request_timestamp(text: &str) -> Result<u64, TimestampError> {
    let bytes = text.as_bytes();
    if !bytes.is_empty() && bytes.iter().all(u8::is_ascii_digit) {
        let value: u64 = text.parse().map_err(|_| TimestampError::Format)?;
        return match bytes.len() {
            1..=12 => Ok(value * 1000),
            13 => Ok(value),
            _ => Err(TimestampError::Format),
        };
    }
    doudian_sdk::time::parse_datetime(text)
        .and_then(|secs| u64::try_from(secs).ok())
        .map(|secs| secs * 1000)
        .ok_or(TimestampError::Format)
}

/// `yyyy-MM-dd HH:mm:ss` in GMT+8, as the platform writes dates in strings.
pub fn format_gmt8(unix_secs: u64) -> String {
    doudian_sdk::time::format_datetime(unix_secs as i64)
}

/// `yyyyMMddHHmmss` in GMT+8 (the leading part of a log id).
pub(crate) fn format_gmt8_compact(unix_secs: u64) -> String {
    let (y, mo, d, h, mi, s) = doudian_sdk::time::local_parts(unix_secs as i64);
    format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_timestamp_forms() {
        assert_eq!(parse_request_timestamp("1700000000"), Ok(1_700_000_000_000));
        assert_eq!(parse_request_timestamp("1700000000123"), Ok(1_700_000_000_123));
        // 2023-11-14 22:13:20 UTC is 2023-11-15 06:13:20 in Beijing.
        assert_eq!(parse_request_timestamp("2023-11-15 06:13:20"), Ok(1_700_000_000_000));
        for bad in ["", "17000000001234", "2023-11-15T06:13:20", "2023-02-29 00:00:00", "12a", "-1"] {
            assert_eq!(parse_request_timestamp(bad), Err(TimestampError::Format), "{bad}");
        }
        assert_eq!(parse_request_timestamp("2024-02-29 00:00:00").map(|_| ()), Ok(()));
    }

    #[test]
    fn formatting() {
        assert_eq!(format_gmt8(1_700_000_000), "2023-11-15 06:13:20");
        assert_eq!(format_gmt8_compact(1_700_000_000), "20231115061320");
    }

    #[test]
    fn clock_advances() {
        let clock = Clock::default();
        let before = clock.now_ms();
        clock.advance_ms(3_600_000);
        assert!(clock.now_ms() >= before + 3_600_000);
    }
}
