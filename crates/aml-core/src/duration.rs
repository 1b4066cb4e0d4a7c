//! Durations as people write them on a command line: `500ms`, `10s`, `2m`, `1h`, `1.5s`.

use std::time::Duration;

pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 =
        number.parse().map_err(|_| format!("`{text}` is not a duration; write `500ms`, `10s`, `2m` or `1h`"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" | "" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(format!("`{text}` has an unknown unit `{unit}`; use `ms`, `s`, `m` or `h`")),
    };
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(format!("`{text}` is not a duration"));
    }
    if seconds > MAX.as_secs_f64() {
        return Err(format!("`{text}` is longer than the longest wait the tools take (30 days)"));
    }
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("`{text}` is not a duration"))
}

/// The longest duration a flag takes: longer waits, timeouts and load tests are mistakes.
pub const MAX: Duration = Duration::from_secs(30 * 24 * 3600);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(parse("10x").is_err());
        assert!(parse("fast").is_err());
        assert!(parse("99999999999999999999s").unwrap_err().contains("30 days"));
        assert!(parse("1e400").is_err());
        assert_eq!(parse("30d").unwrap_err(), "`30d` has an unknown unit `d`; use `ms`, `s`, `m` or `h`");
    }
}
