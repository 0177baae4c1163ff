//! `--since TIME`: Unix seconds, a span ago (`7d`, `12h`, `30m`, `45s`), or a date and
//! time in the platform's time zone (UTC+8): `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS]` (a
//! space instead of `T` works too).

use crate::commands::span;

/// `text` as Unix seconds, `now` being the current time.
pub fn parse(text: &str, now: i64) -> Result<i64, String> {
    let text = text.trim();
    let bad =
        || format!("--since `{text}`: expected Unix seconds, 7d / 12h / 30m / 45s ago, or YYYY-MM-DD[THH:MM[:SS]]");
    if let Ok(seconds) = text.parse::<i64>() {
        return if seconds >= 0 { Ok(seconds) } else { Err(bad()) };
    }
    // A number and then letters is a span (`7d`, or `7w` with an unknown unit).
    let unit = text.trim_start_matches(|c: char| c.is_ascii_digit());
    if unit.len() < text.len() && !unit.is_empty() && unit.chars().all(|c| c.is_ascii_alphabetic()) {
        let span = span::parse(text).map_err(|e| format!("--since {e}"))?;
        // span::parse keeps a span within i64 seconds; one reaching before 1970 means all.
        return Ok(now.saturating_sub(span.as_secs() as i64).max(0));
    }
    let (date, time) = match text.split_once(['T', ' ']) {
        Some((date, time)) => (date, Some(time)),
        None => (text, None),
    };
    let numbers = |part: &str, sep: char| -> Result<Vec<i64>, String> {
        part.split(sep).map(|n| n.parse::<i64>().map_err(|_| bad())).collect()
    };
    let [year, month, day] = numbers(date, '-')?[..] else { return Err(bad()) };
    let (hour, minute, second) = match time.map(|t| numbers(t, ':')).transpose()?.as_deref() {
        None => (0, 0, 0),
        Some(&[h, m]) => (h, m, 0),
        Some(&[h, m, s]) => (h, m, s),
        Some(_) => return Err(bad()),
    };
    // A Beijing date before 1970-01-01 08:00 is before Unix time 0: all.
    doudian_sdk::time::from_local(year, month, day, hour, minute, second).map(|t| t.max(0)).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::parse;

    const NOW: i64 = 1_700_000_000;

    #[test]
    fn seconds_spans_and_beijing_dates() {
        assert_eq!(parse("1690000000", NOW), Ok(1_690_000_000));
        assert_eq!(parse("7d", NOW), Ok(NOW - 7 * 86_400));
        assert_eq!(parse(" 12h ", NOW), Ok(NOW - 12 * 3_600));
        assert_eq!(parse("30m", NOW), Ok(NOW - 1_800));
        assert_eq!(parse("45s", NOW), Ok(NOW - 45));
        assert_eq!(parse("100000d", NOW), Ok(0));
        assert_eq!(parse("1970-01-01", NOW), Ok(0));
        // Midnight in Beijing is 16:00 UTC the day before.
        assert_eq!(parse("2023-11-15", NOW), Ok(1_699_977_600));
        assert_eq!(parse("2023-11-15T06:13", NOW), Ok(1_699_999_980));
        assert_eq!(parse("2023-11-15 06:13:20", NOW), Ok(NOW));
    }

    #[test]
    fn times_that_do_not_exist_are_refused() {
        for bad in [
            "",
            "-5",
            "-1d",
            "7w",
            "d",
            "2026-02-31",
            "2023-02-29",
            "2024-13-01",
            "2024-01-01T24:00",
            "2024-1",
            "99999999999999999-01-01",
        ] {
            let error = parse(bad, NOW).expect_err(bad);
            assert!(error.contains("--since"), "{error}");
        }
        assert!(parse("7w", NOW).unwrap_err().contains("unknown unit `w`"));
        // Other words are not taken for spans: the message lists every form.
        for other in ["yesterday", "2024-01-01Z"] {
            assert!(parse(other, NOW).unwrap_err().contains("YYYY-MM-DD"), "{other}");
        }
        assert!(parse("2024-02-29", NOW).is_ok());
    }
}
