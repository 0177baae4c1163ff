//! `--since TIME`: Unix seconds, a span ago (`7d`, `12h`, `30m`, `45s`), or a date and
//! time in the platform's time zone (UTC+8): `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS]` (a
//! space instead of `T` works too).

/// The platform's time zone, seconds east of UTC.
const PLATFORM_OFFSET: i64 = 8 * 3600;

/// `text` as Unix seconds, `now` being the current time.
pub fn parse(text: &str, now: i64) -> Result<i64, String> {
    let text = text.trim();
    let bad =
        || format!("--since `{text}`: expected Unix seconds, 7d / 12h / 30m / 45s ago, or YYYY-MM-DD[THH:MM[:SS]]");
    if let Ok(seconds) = text.parse::<i64>() {
        return if seconds >= 0 { Ok(seconds) } else { Err(bad()) };
    }
    if let Some(unit) = text.chars().last().filter(|c| c.is_ascii_alphabetic()) {
        let amount: i64 = text[..text.len() - 1].parse().map_err(|_| bad())?;
        let scale = match unit {
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return Err(bad()),
        };
        return amount.checked_mul(scale).filter(|span| *span >= 0).map(|span| now - span).ok_or_else(bad);
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
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 59 {
        return Err(bad());
    }
    if [hour, minute, second].iter().any(|n| *n < 0) {
        return Err(bad());
    }
    Ok(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - PLATFORM_OFFSET)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn forms() {
        let now = 1_765_000_000;
        assert_eq!(parse("1700000000", now), Ok(1_700_000_000));
        assert_eq!(parse("7d", now), Ok(now - 7 * 86_400));
        assert_eq!(parse("12h", now), Ok(now - 12 * 3600));
        assert_eq!(parse("30m", now), Ok(now - 1800));
        // 2026-12-01 00:00 in UTC+8 is 2026-11-30 16:00 UTC.
        assert_eq!(parse("2026-12-01", now), Ok(1_796_083_200 - 8 * 3600));
        assert_eq!(parse("2026-12-01T10:30", now), Ok(1_796_083_200 - 8 * 3600 + 10 * 3600 + 1800));
        assert_eq!(parse("1970-01-01 08:00:00", now), Ok(0));
    }

    #[test]
    fn refusals() {
        for text in ["", "-5", "7w", "x7d", "2026-13-01", "2026-12-01T25:00", "2026-12", "2026-12-01T10", "d"] {
            assert!(parse(text, 0).is_err(), "{text}");
        }
    }
}
