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

/// Seconds east of UTC of the platform's time zone (Beijing, no daylight saving).
const GMT8_OFFSET_SECS: i64 = 8 * 3600;

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
    parse_gmt8_datetime(text).map(|secs| secs as u64 * 1000).ok_or(TimestampError::Format)
}

/// `yyyy-MM-dd HH:mm:ss` in GMT+8 to Unix seconds.
pub(crate) fn parse_gmt8_datetime(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b' ' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = &text[range];
        part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok())?
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - GMT8_OFFSET_SECS)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The calendar date of a day number (inverse of [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn gmt8_parts(unix_secs: u64) -> (i64, i64, i64, i64, i64, i64) {
    let local = unix_secs as i64 + GMT8_OFFSET_SECS;
    let (days, rest) = (local.div_euclid(86_400), local.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    (y, m, d, rest / 3600, rest % 3600 / 60, rest % 60)
}

/// `yyyy-MM-dd HH:mm:ss` in GMT+8, as the platform writes dates in strings.
pub fn format_gmt8(unix_secs: u64) -> String {
    let (y, mo, d, h, mi, s) = gmt8_parts(unix_secs);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
}

/// `yyyyMMddHHmmss` in GMT+8 (the leading part of a log id).
pub(crate) fn format_gmt8_compact(unix_secs: u64) -> String {
    let (y, mo, d, h, mi, s) = gmt8_parts(unix_secs);
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
    fn formatting_round_trips() {
        for secs in [0u64, 951_782_400, 1_700_000_000, 4_102_444_800] {
            assert_eq!(parse_gmt8_datetime(&format_gmt8(secs)), Some(secs as i64));
        }
        assert_eq!(format_gmt8(1_700_000_000), "2023-11-15 06:13:20");
    }

    #[test]
    fn clock_advances() {
        let clock = Clock::default();
        let before = clock.now_ms();
        clock.advance_ms(3_600_000);
        assert!(clock.now_ms() >= before + 3_600_000);
    }
}
