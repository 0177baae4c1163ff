//! `--within DURATION` (`3d`, `12h`, `90m`, `45s`) and UTC times for the table.

use std::time::Duration;

/// Parses a renewal window: a whole number above 0 and a unit, `d`, `h`, `m` or `s`.
pub fn parse(text: &str) -> Result<Duration, String> {
    let expected = || format!("`{text}`: expected a whole number and a unit: 3d, 12h, 90m or 45s");
    let trimmed = text.trim();
    let split = trimmed.find(|c: char| !c.is_ascii_digit()).ok_or_else(|| {
        if trimmed.is_empty() {
            expected()
        } else {
            format!("`{text}`: the unit is missing: 3d (days), 12h (hours), 90m (minutes) or 45s (seconds)")
        }
    })?;
    let (number, unit) = trimmed.split_at(split);
    if number.is_empty() {
        return Err(expected());
    }
    let seconds_per_unit: u64 = match unit {
        "d" => 86_400,
        "h" => 3_600,
        "m" => 60,
        "s" => 1,
        other => return Err(format!("`{text}`: unknown unit `{other}`: use d, h, m or s")),
    };
    let number: u64 = number.parse().map_err(|_| format!("`{text}`: the number is too large"))?;
    if number == 0 {
        return Err(format!("`{text}`: a window of 0 renews nothing; give one above 0"));
    }
    let seconds = number.checked_mul(seconds_per_unit).ok_or_else(|| format!("`{text}`: the number is too large"))?;
    Ok(Duration::from_secs(seconds))
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
    fn windows_in_each_unit() {
        assert_eq!(parse("3d"), Ok(Duration::from_secs(3 * 86_400)));
        assert_eq!(parse("12h"), Ok(Duration::from_secs(12 * 3_600)));
        assert_eq!(parse("90m"), Ok(Duration::from_secs(90 * 60)));
        assert_eq!(parse("45s"), Ok(Duration::from_secs(45)));
        assert_eq!(parse(" 14d "), Ok(Duration::from_secs(14 * 86_400)));
    }

    #[test]
    fn bad_windows_are_refused_with_what_was_wrong() {
        let refused = |text: &str, says: &str| {
            let error = parse(text).unwrap_err();
            assert!(error.contains(says) && error.contains(&format!("`{text}`")), "{text:?}: {error}");
        };
        refused("", "expected a whole number and a unit");
        refused("3", "the unit is missing");
        refused("d", "expected a whole number and a unit");
        refused("3w", "unknown unit `w`");
        refused("3D", "unknown unit `D`");
        refused("3 d", "unknown unit ` d`");
        refused("1.5d", "unknown unit `.5d`");
        refused("-3d", "expected a whole number and a unit");
        refused("3d12h", "unknown unit `d12h`");
        refused("0h", "a window of 0");
        refused("99999999999999999999d", "too large");
        refused("999999999999999999d", "too large");
    }

    #[test]
    fn utc_times() {
        assert_eq!(utc(0), "1970-01-01 00:00:00");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(utc(1_798_761_599), "2026-12-31 23:59:59");
        assert_eq!(utc(1_709_210_096), "2024-02-29 12:34:56");
    }
}
