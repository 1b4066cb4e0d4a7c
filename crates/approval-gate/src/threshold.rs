//! `--metric rmse:lower,min_relative_change=0.01,threshold=60`: MLflow's `MetricThreshold`
//! written as rules of the rule language, so they are shown, evaluated and recorded the
//! same way. As MLflow documents it, for a metric where lower is better:
//!   threshold            candidate <= threshold
//!   min_absolute_change  candidate <= champion - change
//!   min_relative_change  candidate <= champion - change * |champion|
//! and the mirror image (>=, +) where higher is better. With no option, the candidate must
//! be no worse than the champion.

use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Lower,
    Higher,
}

/// One metric's gate.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricThreshold {
    pub direction: Direction,
    pub threshold: Option<f64>,
    pub min_absolute_change: Option<f64>,
    pub min_relative_change: Option<f64>,
}

const OPTIONS: [&str; 3] = ["threshold", "min_absolute_change", "min_relative_change"];

/// Parse the flag's value; errors say what to write instead.
pub fn parse_flag(text: &str) -> Result<(String, MetricThreshold), String> {
    let (name, rest) = text
        .split_once(':')
        .ok_or_else(|| format!("`{text}` has no direction; write `NAME:lower` or `NAME:higher`, then options, e.g. `rmse:lower,threshold=60`"))?;
    let name = name.trim();
    if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return Err(format!("`{name}` is not a metric name (letters, digits and `_`)"));
    }
    let mut parts = rest.split(',').map(str::trim);
    let direction = match parts.next().unwrap_or("") {
        "lower" => Direction::Lower,
        "higher" => Direction::Higher,
        other => {
            return Err(format!(
                "`{other}` is not a direction; write `lower` (lower is better, as for rmse) or `higher` (as for r2)"
            ));
        }
    };
    let mut gate = MetricThreshold { direction, threshold: None, min_absolute_change: None, min_relative_change: None };
    for option in parts {
        let (key, value) =
            option.split_once('=').ok_or_else(|| format!("`{option}` needs a value, as in `{option}=0.01`"))?;
        let value: f64 = value.trim().parse().map_err(|_| format!("`{key}={value}`: `{value}` is not a number"))?;
        let slot = match key.trim() {
            "threshold" => &mut gate.threshold,
            "min_absolute_change" => &mut gate.min_absolute_change,
            "min_relative_change" => &mut gate.min_relative_change,
            other => {
                let near = aml_client::yaml::closest(other, &OPTIONS)
                    .map(|n| format!("did you mean `{n}`? "))
                    .unwrap_or_default();
                return Err(format!("`{other}` is not an option; {near}options: {}", OPTIONS.join(", ")));
            }
        };
        *slot = Some(value);
    }
    gate.check()?;
    Ok((name.to_string(), gate))
}

impl MetricThreshold {
    pub fn check(&self) -> Result<(), String> {
        for (key, value) in
            [("min_absolute_change", self.min_absolute_change), ("min_relative_change", self.min_relative_change)]
        {
            if value.is_some_and(|v| v.is_nan() || v < 0.0 || v.is_infinite()) {
                return Err(format!("`{key}` must be a number of 0 or more (how much better the candidate must be)"));
            }
        }
        Ok(())
    }

    /// The rules this gate stands for, in the rule language.
    pub fn rules(&self, metric: &str) -> Vec<String> {
        let (better_or_equal, plus_or_minus) = match self.direction {
            Direction::Lower => ("<=", "-"),
            Direction::Higher => (">=", "+"),
        };
        let candidate = format!("candidate.{metric}");
        let champion = format!("champion.{metric}");
        let mut rules = Vec::new();
        if let Some(threshold) = self.threshold {
            rules.push(format!("{candidate} {better_or_equal} {threshold}"));
        }
        if let Some(change) = self.min_absolute_change {
            rules.push(format!("{candidate} {better_or_equal} {champion} {plus_or_minus} {change}"));
        }
        if let Some(change) = self.min_relative_change {
            rules.push(format!("{candidate} {better_or_equal} {champion} {plus_or_minus} {change} * abs({champion})"));
        }
        if self.min_absolute_change.is_none() && self.min_relative_change.is_none() && self.threshold.is_none() {
            rules.push(format!("{candidate} {better_or_equal} {champion}"));
        }
        rules
    }
}
