//! Latency against load, drawn from `profile`'s steps: an SVG file (`--plot`), and a mermaid
//! `xychart` for the CI's step summary. Each step is a point: how many requests a second it
//! held (x) and its latency percentiles (y), with the budget as a dashed line.

use aml_client::chart::{LineChart, PALETTE, Series, nice_ceiling, trim};

use crate::load::ProfileStep;

/// The percentiles drawn.
const SERIES: [&str; 3] = ["p50", "p95", "p99"];

fn value(step: &ProfileStep, series: &str) -> f64 {
    match series {
        "p50" => step.p50_ms,
        "p95" => step.p95_ms,
        _ => step.p99_ms,
    }
}

/// `budget` is the percentile held (`p99`) and its limit in milliseconds.
pub fn svg(title: &str, steps: &[ProfileStep], budget: (&str, f64)) -> String {
    let (percentile, limit_ms) = budget;
    let series = SERIES
        .iter()
        .zip(PALETTE)
        .map(|(name, colour)| Series {
            name: name.to_string(),
            colour,
            points: steps
                .iter()
                .map(|s| {
                    let tip = format!(
                        "{name} {:.2} ms at {} connections, {:.1} req/s",
                        value(s, name),
                        s.concurrency,
                        s.requests_per_second
                    );
                    (s.requests_per_second, value(s, name), tip)
                })
                .collect(),
        })
        .collect();
    LineChart {
        title: title.to_string(),
        x_label: "requests per second".into(),
        y_label: "latency (ms)".into(),
        series,
        threshold: Some((format!("budget {percentile} ≤ {} ms", trim(limit_ms)), limit_ms)),
    }
    .svg()
}

/// A mermaid `xychart` of p50 and p99 latency by connections, for the step summary.
pub fn mermaid(steps: &[ProfileStep]) -> String {
    let connections: Vec<String> = steps.iter().map(|s| format!("\"{}\"", s.concurrency)).collect();
    let max_y = nice_ceiling(steps.iter().map(|s| s.p99_ms).fold(0.0, f64::max));
    let line = |series: &str| -> String {
        steps.iter().map(|s| format!("{:.2}", value(s, series))).collect::<Vec<_>>().join(", ")
    };
    format!(
        "```mermaid\nxychart-beta\n    title \"p50 and p99 latency (ms) by connections\"\n    x-axis \"connections\" [{}]\n    y-axis \"latency (ms)\" 0 --> {}\n    line [{}]\n    line [{}]\n```\n",
        connections.join(", "),
        trim(max_y),
        line("p50"),
        line("p99")
    )
}
