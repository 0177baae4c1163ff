//! A span of time as the commands take it: a whole number and a unit, `3d`, `12h`, `90m`
//! or `45s` (`orders sync --since 7d`, `tokens list --within 3d`).

use std::time::Duration;

/// `text` as a span; the error names what was wrong with it.
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
    let too_large = || format!("`{text}`: the number is too large");
    let number: u64 = number.parse().map_err(|_| too_large())?;
    // At most i64::MAX seconds, so that a span can be taken from a Unix time.
    let seconds = number.checked_mul(seconds_per_unit).filter(|s| i64::try_from(*s).is_ok()).ok_or_else(too_large)?;
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_in_each_unit() {
        assert_eq!(parse("3d"), Ok(Duration::from_secs(3 * 86_400)));
        assert_eq!(parse("12h"), Ok(Duration::from_secs(12 * 3_600)));
        assert_eq!(parse("90m"), Ok(Duration::from_secs(90 * 60)));
        assert_eq!(parse("45s"), Ok(Duration::from_secs(45)));
        assert_eq!(parse(" 14d "), Ok(Duration::from_secs(14 * 86_400)));
        assert_eq!(parse("0h"), Ok(Duration::ZERO));
    }

    #[test]
    fn bad_spans_are_refused_with_what_was_wrong() {
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
        refused("99999999999999999999d", "too large");
        refused("999999999999999999d", "too large");
        // Fits u64 seconds, not i64.
        refused("9300000000000000000s", "too large");
        assert_eq!(parse("9223372036854775807s"), Ok(Duration::from_secs(i64::MAX as u64)));
    }
}
