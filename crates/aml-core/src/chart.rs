//! Line charts as SVG, for the pictures the tools write (`smoke-test profile --plot`,
//! `aml-deploy metrics --plot`): axes ending on round numbers, one polyline per series with
//! a point (and its tooltip) per value, an optional dashed threshold. Hand-written SVG: the
//! charts are small and a dependency would be larger than they are.

use std::fmt::Write as _;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 400.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 48.0;

/// Colours for series in order, distinguishable by most readers.
pub const PALETTE: [&str; 6] = ["#1f77b4", "#ff7f0e", "#d62728", "#2ca02c", "#9467bd", "#8c564b"];

pub struct Series {
    pub name: String,
    pub colour: &'static str,
    /// (x, y), with a tooltip each.
    pub points: Vec<(f64, f64, String)>,
}

pub struct LineChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    /// A dashed horizontal line and its label (a budget, a limit).
    pub threshold: Option<(String, f64)>,
}

/// XML text with its five special characters escaped.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&apos;")
}

/// A round number at or above `x`: 1, 2 or 5 times a power of ten.
pub fn nice_ceiling(x: f64) -> f64 {
    if x <= 0.0 || !x.is_finite() {
        return 1.0;
    }
    let power = 10f64.powf(x.log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * power).find(|v| *v >= x).unwrap_or(10.0 * power)
}

/// A figure without trailing zeros: `25`, `2.5`.
pub fn trim(v: f64) -> String {
    let text = format!("{v:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

impl LineChart {
    pub fn svg(&self) -> String {
        let all = || self.series.iter().flat_map(|s| s.points.iter());
        let max_x = nice_ceiling(all().map(|p| p.0).fold(0.0, f64::max));
        let floor = self.threshold.as_ref().map_or(0.0, |t| t.1);
        let max_y = nice_ceiling(all().map(|p| p.1).fold(floor, f64::max));
        let plot_w = WIDTH - LEFT - RIGHT;
        let plot_h = HEIGHT - TOP - BOTTOM;
        let x = |v: f64| LEFT + v / max_x * plot_w;
        let y = |v: f64| TOP + plot_h - v / max_y * plot_h;
        let mut out = String::new();
        let _ = writeln!(
            out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
        );
        let title = escape(&self.title);
        let _ = writeln!(out, r#"<title>{title}</title>"#);
        let _ = writeln!(out, r##"<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>"##);
        let _ = writeln!(out, r#"<text x="{}" y="22" text-anchor="middle" font-size="14">{title}</text>"#, WIDTH / 2.0);
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
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            LEFT + plot_w / 2.0,
            HEIGHT - 10.0,
            escape(&self.x_label)
        );
        let middle = TOP + plot_h / 2.0;
        let _ = writeln!(
            out,
            r#"<text x="14" y="{middle:.1}" text-anchor="middle" transform="rotate(-90 14 {middle:.1})">{}</text>"#,
            escape(&self.y_label)
        );
        if let Some((label, value)) = &self.threshold {
            let _ = writeln!(
                out,
                r##"<line x1="{LEFT}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}" stroke="#555555" stroke-dasharray="6 4"/>"##,
                y(*value),
                LEFT + plot_w
            );
            let _ = writeln!(
                out,
                r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#555555">{}</text>"##,
                LEFT + plot_w,
                y(*value) - 4.0,
                escape(label)
            );
        }
        let mut legend_x = LEFT + 12.0;
        for series in &self.series {
            let points: Vec<String> = series.points.iter().map(|p| format!("{:.1},{:.1}", x(p.0), y(p.1))).collect();
            let colour = series.colour;
            let _ = writeln!(
                out,
                r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
                points.join(" ")
            );
            for (px, py, tip) in &series.points {
                let _ = writeln!(
                    out,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"><title>{}</title></circle>"#,
                    x(*px),
                    y(*py),
                    escape(tip)
                );
            }
            let name = escape(&series.name);
            let _ = writeln!(out, r#"<text x="{legend_x:.1}" y="{:.1}" fill="{colour}">{name}</text>"#, TOP + 14.0);
            legend_x += 8.0 * series.name.chars().count() as f64 + 16.0;
        }
        out.push_str("</svg>\n");
        out
    }
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
    fn names_and_tooltips_are_escaped() {
        assert_eq!(escape(r#"<a & "b">"#), "&lt;a &amp; &quot;b&quot;&gt;");
        let chart = LineChart {
            title: "a <b>".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            series: vec![Series { name: "s&t".into(), colour: PALETTE[0], points: vec![(1.0, 2.0, "<tip>".into())] }],
            threshold: Some(("limit".into(), 5.0)),
        };
        let svg = chart.svg();
        assert!(svg.contains("a &lt;b&gt;") && svg.contains("s&amp;t") && svg.contains("&lt;tip&gt;"), "{svg}");
        assert!(!svg.contains("<tip>"));
    }
}
