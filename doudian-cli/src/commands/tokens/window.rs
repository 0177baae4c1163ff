//! `--within DURATION` (a span above 0: `3d`, `12h`, `90m`, `45s`) and UTC times for the table.

use std::time::Duration;

use crate::commands::span;

/// Parses a renewal window: a span ([`span::parse`]) above 0.
pub fn parse(text: &str) -> Result<Duration, String> {
    match span::parse(text)? {
        Duration::ZERO => Err(format!("`{text}`: a window of 0 renews nothing; give one above 0")),
        window => Ok(window),
    }
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS` in UTC.
pub fn utc(unix: u64) -> String {
    let (year, month, day, hour, minute, second) = doudian_sdk::time::utc_parts(unix as i64);
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_is_a_span_above_0() {
        assert_eq!(parse("3d"), Ok(Duration::from_secs(3 * 86_400)));
        let error = parse("0h").unwrap_err();
        assert!(error.contains("a window of 0") && error.contains("`0h`"), "{error}");
        assert!(parse("3w").unwrap_err().contains("unknown unit `w`"));
    }

    #[test]
    fn utc_times() {
        assert_eq!(utc(0), "1970-01-01 00:00:00");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(utc(1_798_761_599), "2026-12-31 23:59:59");
        assert_eq!(utc(1_709_210_096), "2024-02-29 12:34:56");
    }
}
