//! Durations as ISO 8601, written as azure-ai-ml writes them (`isodate.duration_isoformat`
//! of a `timedelta`): `PT1H`, `PT1H30M5S`, `P1DT2H`, `PT1.5S`; the service compares them as
//! text when it tells whether a resource changed.

/// Whole seconds (`to_iso_duration_format`).
pub fn seconds(seconds: u64) -> String {
    millis(seconds.saturating_mul(1000))
}

/// Milliseconds (`to_iso_duration_format_ms`): a fraction of a second is kept, without
/// trailing zeros.
pub fn millis(millis: u64) -> String {
    let (whole, fraction) = (millis / 1000, millis % 1000);
    let (days, rest) = (whole / 86_400, whole % 86_400);
    let (hours, minutes, secs) = (rest / 3600, rest % 3600 / 60, rest % 60);
    let mut text = String::from("P");
    if days > 0 {
        text.push_str(&format!("{days}D"));
    }
    if rest > 0 || fraction > 0 {
        text.push('T');
        for (amount, unit) in [(hours, "H"), (minutes, "M")] {
            if amount > 0 {
                text.push_str(&format!("{amount}{unit}"));
            }
        }
        match fraction {
            0 if secs > 0 => text.push_str(&format!("{secs}S")),
            0 => {}
            _ => {
                let digits = format!("{fraction:03}");
                text.push_str(&format!("{secs}.{}S", digits.trim_end_matches('0')));
            }
        }
    }
    if text == "P" { "P0D".into() } else { text }
}

#[cfg(test)]
mod tests {
    use super::{millis, seconds};

    /// What isodate writes for the same `timedelta`s (checked with azure-ai-ml's
    /// `to_iso_duration_format` and `to_iso_duration_format_ms`).
    #[test]
    fn durations_are_written_as_isodate_writes_them() {
        assert_eq!(seconds(3600), "PT1H");
        assert_eq!(seconds(5405), "PT1H30M5S");
        assert_eq!(seconds(93_600), "P1DT2H");
        assert_eq!(seconds(86_400), "P1D");
        assert_eq!(seconds(0), "P0D");
        assert_eq!(seconds(10), "PT10S");
        assert_eq!(seconds(90), "PT1M30S");
        assert_eq!(millis(3000), "PT3S");
        assert_eq!(millis(1500), "PT1.5S");
        assert_eq!(millis(90_000), "PT1M30S");
        assert_eq!(millis(5), "PT0.005S");
        assert_eq!(millis(3_600_000), "PT1H");
    }
}
