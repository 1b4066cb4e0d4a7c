//! Latency against load, drawn from `profile`'s steps: an SVG file (`--plot`), and a mermaid
//! `xychart` for the CI's step summary. Each step is a point: how many requests a second it
//! held (x) and its latency percentiles (y), with the budget as a dashed line.

use std::fmt::Write as _;

use crate::load::ProfileStep;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 400.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 48.0;

/// The percentiles drawn, and their colours.
const SERIES: [(&str, &str); 3] = [("p50", "#1f77b4"), ("p95", "#ff7f0e"), ("p99", "#d62728")];

fn value(step: &ProfileStep, series: &str) -> f64 {
    match series {
        "p50" => step.p50_ms,
        "p95" => step.p95_ms,
        _ => step.p99_ms,
    }
}

/// XML text with its five special characters escaped.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&apos;")
}

/// A round number at or above `x`: 1, 2 or 5 times a power of ten.
fn nice_ceiling(x: f64) -> f64 {
    if x <= 0.0 || !x.is_finite() {
        return 1.0;
    }
    let power = 10f64.powf(x.log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * power).find(|v| *v >= x).unwrap_or(10.0 * power)
}

/// `budget` is the percentile held (`p99`) and its limit in milliseconds.
pub fn svg(title: &str, steps: &[ProfileStep], budget: (&str, f64)) -> String {
    let (percentile, limit_ms) = budget;
    let max_x = nice_ceiling(steps.iter().map(|s| s.requests_per_second).fold(0.0, f64::max));
    let max_y = nice_ceiling(steps.iter().map(|s| s.p99_ms).fold(limit_ms, f64::max));
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |v: f64| LEFT + v / max_x * plot_w;
    let y = |v: f64| TOP + plot_h - v / max_y * plot_h;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<title>{}</title>"#, escape(title));
    let _ = writeln!(out, r##"<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>"##);
    let _ = writeln!(
        out,
        r#"<text x="{}" y="22" text-anchor="middle" font-size="14">{}</text>"#,
        WIDTH / 2.0,
        escape(title)
    );
    // Axes, with five ticks each.
    let _ = writeln!(
        out,
        r##"<path d="M{LEFT},{TOP} V{} H{}" fill="none" stroke="#333333"/>"##,
        TOP + plot_h,
        LEFT + plot_w
    );
    for i in 0..=5 {
        let (vx, vy) = (max_x * i as f64 / 5.0, max_y * i as f64 / 5.0);
        let _ = writeln!(
            out,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#333333">{}</text>"##,
            x(vx),
            TOP + plot_h + 16.0,
            trim(vx)
        );
        let _ = writeln!(
            out,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#333333">{}</text>"##,
            LEFT - 6.0,
            y(vy) + 4.0,
            trim(vy)
        );
    }
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">requests per second</text>"#,
        LEFT + plot_w / 2.0,
        HEIGHT - 10.0
    );
    let _ = writeln!(
        out,
        r#"<text x="14" y="{:.1}" text-anchor="middle" transform="rotate(-90 14 {:.1})">latency (ms)</text>"#,
        TOP + plot_h / 2.0,
        TOP + plot_h / 2.0
    );
    // The budget.
    let _ = writeln!(
        out,
        r##"<line x1="{LEFT}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}" stroke="#555555" stroke-dasharray="6 4"/>"##,
        y(limit_ms),
        LEFT + plot_w
    );
    let _ = writeln!(
        out,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#555555">budget {} ≤ {} ms</text>"##,
        LEFT + plot_w,
        y(limit_ms) - 4.0,
        escape(percentile),
        trim(limit_ms)
    );
    for (index, (series, colour)) in SERIES.iter().enumerate() {
        let points: Vec<String> =
            steps.iter().map(|s| format!("{:.1},{:.1}", x(s.requests_per_second), y(value(s, series)))).collect();
        let _ = writeln!(
            out,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
            points.join(" ")
        );
        for step in steps {
            let _ = writeln!(
                out,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"><title>{series} {:.2} ms at {} connections, {:.1} req/s</title></circle>"#,
                x(step.requests_per_second),
                y(value(step, series)),
                value(step, series),
                step.concurrency,
                step.requests_per_second
            );
        }
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" fill="{colour}">{series}</text>"#,
            LEFT + 12.0 + 48.0 * index as f64,
            TOP + 14.0
        );
    }
    out.push_str("</svg>\n");
    out
}

/// A figure without trailing zeros: `25`, `2.5`.
fn trim(v: f64) -> String {
    let text = format!("{v:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(3.2), 5.0);
        assert_eq!(nice_ceiling(120.0), 200.0);
        assert_eq!(nice_ceiling(1000.0), 1000.0);
        assert_eq!(trim(2.50), "2.5");
        assert_eq!(trim(200.0), "200");
    }

    #[test]
    fn titles_are_escaped() {
        assert_eq!(escape(r#"<a & "b">"#), "&lt;a &amp; &quot;b&quot;&gt;");
    }
}
