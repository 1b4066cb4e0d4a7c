//! Timestamps as RFC 3339 UTC strings, whole seconds, as the registry stores them.

pub fn now() -> String {
    let now = jiff::Timestamp::now();
    jiff::Timestamp::from_second(now.as_second()).unwrap_or(now).to_string()
}

pub fn now_millis() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// Milliseconds since the epoch of a stored timestamp.
pub fn millis(text: &str) -> Option<i64> {
    text.parse::<jiff::Timestamp>().ok().map(|t| t.as_millisecond())
}

/// A timestamp from milliseconds since the epoch (MLflow's times), in the stored form.
pub fn from_millis(millis: i64) -> String {
    jiff::Timestamp::from_second(millis.div_euclid(1000)).map(|t| t.to_string()).unwrap_or_default()
}

/// The span of the last `window` up to now, in milliseconds since the epoch: `[since, until)`,
/// `until` just past now so that what happened this millisecond is in it.
pub fn window_ending_now(window: std::time::Duration) -> (i64, i64) {
    let until = now_millis() + 1;
    (until - i64::try_from(window.as_millis()).unwrap_or(i64::MAX).min(until), until)
}

/// Seconds between two stored timestamps.
pub fn seconds_between(start: &str, end: &str) -> Option<f64> {
    Some((millis(end)? - millis(start)?) as f64 / 1000.0)
}
