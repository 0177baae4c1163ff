//! The platform's calendar: it writes times as `yyyy-MM-dd HH:mm:ss` in its own time zone
//! (Beijing, UTC+8, no daylight saving) and sends Unix seconds elsewhere. One converter
//! for the SDK, the gateway and the CLI.

/// Seconds east of UTC of the platform's time zone.
pub const UTC_OFFSET_SECS: i64 = 8 * 3600;

/// Unix seconds of a date and time on the platform's clock, or `None` when it is not a
/// real one (month 13, February 30, hour 24, second 60) or its year is outside 1..=9999
/// (what the platform's `yyyy` writes; far larger years would overflow the arithmetic).
pub fn from_local(year: i64, month: i64, day: i64, hour: i64, minute: i64, second: i64) -> Option<i64> {
    let valid = (1..=9999).contains(&year)
        && (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && (0..24).contains(&hour)
        && (0..60).contains(&minute)
        && (0..60).contains(&second);
    valid.then(|| days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - UTC_OFFSET_SECS)
}

/// Unix seconds of `yyyy-MM-dd HH:mm:ss` on the platform's clock, exactly that form.
pub fn parse_datetime(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b' ' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = &text[range];
        digits.bytes().all(|c| c.is_ascii_digit()).then(|| digits.parse().ok())?
    };
    from_local(number(0..4)?, number(5..7)?, number(8..10)?, number(11..13)?, number(14..16)?, number(17..19)?)
}

/// The date and time on the platform's clock of Unix seconds `unix_secs`:
/// `(year, month, day, hour, minute, second)`.
pub fn local_parts(unix_secs: i64) -> (i64, i64, i64, i64, i64, i64) {
    utc_parts(unix_secs + UTC_OFFSET_SECS)
}

/// The date and time in UTC of Unix seconds `unix_secs`, as [`local_parts`] gives them.
pub fn utc_parts(unix_secs: i64) -> (i64, i64, i64, i64, i64, i64) {
    let (days, rest) = (unix_secs.div_euclid(86_400), unix_secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    (year, month, day, rest / 3600, rest % 3600 / 60, rest % 60)
}

/// `yyyy-MM-dd HH:mm:ss` on the platform's clock, as the platform writes times in text.
pub fn format_datetime(unix_secs: i64) -> String {
    let (y, mo, d, h, mi, s) = local_parts(unix_secs);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
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

/// The date of a day number since 1970-01-01 (the inverse of [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    (year_of_era + era * 400 + i64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beijing_time_to_unix_seconds_and_back() {
        // 2023-11-14 22:13:20 UTC is 2023-11-15 06:13:20 in Beijing.
        assert_eq!(parse_datetime("2023-11-15 06:13:20"), Some(1_700_000_000));
        assert_eq!(from_local(1970, 1, 1, 8, 0, 0), Some(0));
        assert_eq!(from_local(1970, 1, 1, 0, 0, 0), Some(-UTC_OFFSET_SECS));
        for secs in [-86_401, 0, 951_782_400, 1_700_000_000, 4_102_444_800, 253_402_271_999] {
            assert_eq!(parse_datetime(&format_datetime(secs)), Some(secs), "{}", format_datetime(secs));
        }
        assert_eq!(format_datetime(1_700_000_000), "2023-11-15 06:13:20");
        assert_eq!(local_parts(1_700_000_000), (2023, 11, 15, 6, 13, 20));
        assert_eq!(utc_parts(1_700_000_000), (2023, 11, 14, 22, 13, 20));
    }

    #[test]
    fn every_day_of_four_centuries_round_trips() {
        let start = from_local(1900, 1, 1, 0, 0, 0).unwrap();
        let mut expected = (1900, 1, 1);
        for day in 0..146_097 {
            let (y, m, d, ..) = local_parts(start + day * 86_400);
            assert_eq!((y, m, d), expected);
            expected = if d < days_in_month(y, m) {
                (y, m, d + 1)
            } else if m < 12 {
                (y, m + 1, 1)
            } else {
                (y + 1, 1, 1)
            };
        }
    }

    #[test]
    fn dates_that_do_not_exist_are_refused() {
        assert!(from_local(2024, 2, 29, 0, 0, 0).is_some());
        for (y, mo, d, h, mi, s) in [
            (2023, 2, 29, 0, 0, 0),
            (1900, 2, 29, 0, 0, 0),
            (2024, 4, 31, 0, 0, 0),
            (2024, 13, 1, 0, 0, 0),
            (2024, 0, 1, 0, 0, 0),
            (2024, 1, 0, 0, 0, 0),
            (2024, 1, 1, 24, 0, 0),
            (2024, 1, 1, 0, 60, 0),
            (2024, 1, 1, 0, 0, 60),
            (2024, 1, 1, -1, 0, 0),
            (0, 1, 1, 0, 0, 0),
            (10_000, 1, 1, 0, 0, 0),
            (99_999_999_999_999_999, 1, 1, 0, 0, 0),
            (i64::MIN, 1, 1, 0, 0, 0),
        ] {
            assert_eq!(from_local(y, mo, d, h, mi, s), None, "{y}-{mo}-{d} {h}:{mi}:{s}");
        }
        for bad in ["", "2023-11-15T06:13:20", "2023-11-15 06:13", "2023-11-15 06:13:2x", "+023-11-15 06:13:20"] {
            assert_eq!(parse_datetime(bad), None, "{bad}");
        }
    }
}
