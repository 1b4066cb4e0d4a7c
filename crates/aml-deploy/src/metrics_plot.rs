//! `aml-deploy metrics --plot`: one SVG file with two charts over the window, each
//! deployment's latency (p50 and p99) above and its error rate below.

use std::path::Path;

use aml_client::Result;
use aml_client::chart::{LineChart, PALETTE, Series};
use aml_client::requests::DeploymentSeries;

pub fn write(path: &Path, endpoint: &str, series: &[DeploymentSeries]) -> Result<()> {
    let mut colours = PALETTE.iter().cycle();
    let mut latency = Vec::new();
    let mut errors = Vec::new();
    for deployment in series {
        let name = &deployment.deployment;
        for (label, pick) in [("p50", 0usize), ("p99", 1)] {
            let colour = colours.next().copied().unwrap_or(PALETTE[0]);
            let points = deployment
                .points
                .iter()
                .map(|(t, m)| {
                    let value = if pick == 0 { m.latency_ms.p50 } else { m.latency_ms.p99 };
                    (*t, value, format!("{name} {label} {value:.2} ms at {t:.0} s ({} requests)", m.requests))
                })
                .collect();
            latency.push(Series { name: format!("{name} {label}"), colour, points });
        }
        let colour = colours.next().copied().unwrap_or(PALETTE[0]);
        let points = deployment
            .points
            .iter()
            .map(|(t, m)| {
                let percent = m.error_rate * 100.0;
                (*t, percent, format!("{name} {percent:.1}% errors at {t:.0} s ({} of {})", m.errors, m.requests))
            })
            .collect();
        errors.push(Series { name: format!("{name} errors"), colour, points });
    }
    let chart = |title: &str, y_label: &str, series: Vec<Series>| {
        LineChart {
            title: format!("{endpoint}: {title}"),
            x_label: "seconds into the window".into(),
            y_label: y_label.into(),
            series,
            threshold: None,
        }
        .svg()
    };
    let top = chart("latency by deployment", "latency (ms)", latency);
    let bottom = chart("errors by deployment (non-2xx)", "errors (%)", errors);
    // Two charts, one above the other: nested <svg> elements, each placed by its y.
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"800\" viewBox=\"0 0 640 800\">\n{}{}</svg>\n",
        top.replacen("<svg ", "<svg y=\"0\" ", 1),
        bottom.replacen("<svg ", "<svg y=\"400\" ", 1)
    );
    aml_client::cli::write_output(path, &svg)
}
