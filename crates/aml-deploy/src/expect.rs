//! The scoring smoke test of `invoke --expect-rows N --expect-columns a,b,c`: what a
//! completed scoring job wrote, counted. A pipeline's gate that the batch deployment it just
//! made scores a known folder into the rows and columns it should.

use std::io::{self, Write};
use std::path::Path;

use aml_client::cli::Report;
use aml_client::job_view::JobView;
use aml_client::{Error, Result};
use serde::Serialize;
use serde_json::Value;

/// What the output must hold.
#[derive(Debug, Clone, Default)]
pub struct Expectation {
    pub rows: Option<usize>,
    pub columns: Vec<String>,
}

impl Expectation {
    pub fn is_empty(&self) -> bool {
        self.rows.is_none() && self.columns.is_empty()
    }
}

/// What the output held, and whether it is what was expected.
#[derive(Debug, Clone, Serialize)]
pub struct OutputCheck {
    /// The file counted, relative to the output's folder.
    pub file: String,
    pub rows: usize,
    /// Whether its first line names the columns (then not counted as a row).
    pub header: bool,
    pub passed: bool,
    pub problems: Vec<String>,
}

/// The output's one file (or its `predictions.csv`), its rows counted and its columns checked.
pub fn check(folder: &Path, expected: &Expectation) -> Result<OutputCheck> {
    let files = aml_client::tree::list(folder)?;
    let (name, path) = match files.as_slice() {
        [(name, path)] => (name.clone(), path.clone()),
        several => several
            .iter()
            .find(|(name, _)| name.rsplit('/').next() == Some("predictions.csv"))
            .cloned()
            .ok_or_else(|| {
                Error::failed(
                    format!(
                        "the job's output holds {} file(s), none of them predictions.csv: nothing to count",
                        several.len()
                    ),
                    Some(
                        "name one output file (`output_file_name`), or leave out --expect-rows/--expect-columns".into(),
                    ),
                )
            })?,
    };
    let text = std::fs::read_to_string(&path).map_err(|e| Error::storage(format!("cannot read `{name}`"), e))?;
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let split = |line: &str| -> Vec<String> {
        if line.contains(',') {
            line.split(',').map(|f| f.trim().to_string()).collect()
        } else {
            line.split_whitespace().map(str::to_string).collect()
        }
    };
    let header = !expected.columns.is_empty() && lines.first().is_some_and(|first| split(first) == expected.columns);
    let rows = &lines[usize::from(header)..];
    let mut problems = Vec::new();
    if let Some(want) = expected.rows
        && rows.len() != want
    {
        problems.push(format!("{} row(s), expected {want}", rows.len()));
    }
    if !expected.columns.is_empty() {
        let want = expected.columns.len();
        if let Some((at, fields)) = rows.iter().enumerate().map(|(i, l)| (i, split(l).len())).find(|(_, n)| *n != want)
        {
            problems.push(format!(
                "row {} has {fields} column(s), expected {want} ({})",
                at + 1,
                expected.columns.join(", ")
            ));
        }
    }
    Ok(OutputCheck { file: name, rows: rows.len(), header, passed: problems.is_empty(), problems })
}

/// `invoke`'s answer: the job as `aml-train run` prints it, and the output's check when asked.
pub struct Invoked {
    pub job: JobView,
    pub check: Option<OutputCheck>,
}

impl Report for Invoked {
    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        self.job.render_text(out)?;
        if let Some(check) = &self.check {
            let verdict = if check.passed { "ok" } else { "FAILED" };
            writeln!(out, "  check    {verdict}: {} row(s) in {}", check.rows, check.file)?;
            for problem in &check.problems {
                writeln!(out, "           {problem}")?;
            }
        }
        Ok(())
    }

    fn to_json(&self) -> Value {
        let mut value = self.job.to_json();
        if let (Some(check), Some(object)) = (&self.check, value.as_object_mut()) {
            object.insert("output_check".into(), serde_json::to_value(check).unwrap_or(Value::Null));
        }
        value
    }

    fn exit_code(&self) -> u8 {
        match (&self.check, self.job.exit_code()) {
            (Some(check), 0) if !check.passed => 1,
            (_, code) => code,
        }
    }

    fn ci_outputs(&self) -> Vec<(&'static str, String)> {
        self.job.ci_outputs()
    }

    fn summary(&self) -> Option<String> {
        let mut md = self.job.summary()?;
        if let Some(check) = &self.check {
            md.push_str(&format!(
                "\n\noutput check: **{}** — {} row(s) in `{}`{}",
                if check.passed { "passed" } else { "failed" },
                check.rows,
                check.file,
                check.problems.iter().map(|p| format!("; {p}")).collect::<String>()
            ));
        }
        Some(md)
    }
}
