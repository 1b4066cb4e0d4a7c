//! The router's record of every scoring request: one JSON line per request in
//! `requests/YYYY-MM-DD.jsonl` under the endpoint's folder (UTC days), kept for
//! `KEEP_DAYS` days (a busy endpoint writes some 150 bytes a request). The request path
//! only hands the record to a writer task, which appends whatever has arrived and flushes
//! when it has caught up, so recording costs a request no disk time; a router killed
//! outright loses at most the records still in flight, and a torn last line is skipped
//! when read.

use std::fs::{self, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use tokio::sync::mpsc;

use aml_core::requests::{RequestRecord, record_millis};

/// How many days of records are kept: older day files go when a new day's file is opened.
const KEEP_DAYS: i64 = 30;

pub fn requests_dir(endpoint_dir: &Path) -> PathBuf {
    endpoint_dir.join("requests")
}

/// The day file a record goes to: its UTC date.
fn day_file(dir: &Path, record: &RequestRecord) -> PathBuf {
    let day = record.time.get(..10).filter(|d| d.bytes().all(|b| b.is_ascii_digit() || b == b'-'));
    dir.join(format!("{}.jsonl", day.unwrap_or("undated")))
}

/// Where the router sends its records.
#[derive(Clone)]
pub struct RequestLog {
    sender: mpsc::UnboundedSender<RequestRecord>,
}

impl RequestLog {
    /// Start the writer for an endpoint's folder.
    pub fn start(endpoint_dir: &Path) -> RequestLog {
        let (sender, receiver) = mpsc::unbounded_channel();
        let dir = requests_dir(endpoint_dir);
        std::thread::Builder::new()
            .name("request-log".into())
            .spawn(move || write_records(&dir, receiver))
            .map(|_| ())
            .unwrap_or_else(|e| eprintln!("{} requests will not be recorded: {e}", aml_core::time::now()));
        RequestLog { sender }
    }

    pub fn record(&self, record: RequestRecord) {
        let _ = self.sender.send(record);
    }
}

/// Append records as they come, one open file per day, flushed whenever the queue is empty.
fn write_records(dir: &Path, mut receiver: mpsc::UnboundedReceiver<RequestRecord>) {
    if let Err(e) = fs::create_dir_all(dir) {
        eprintln!("{} cannot create `{}`; requests are not recorded: {e}", aml_core::time::now(), dir.display());
        return;
    }
    let mut open: Option<(PathBuf, BufWriter<fs::File>)> = None;
    while let Some(first) = receiver.blocking_recv() {
        let mut next = Some(first);
        while let Some(record) = next {
            let path = day_file(dir, &record);
            if open.as_ref().is_none_or(|(current, _)| *current != path) {
                if let Some((_, mut writer)) = open.take() {
                    let _ = writer.flush();
                }
                forget_old_days(dir);
                match OpenOptions::new().create(true).append(true).open(&path) {
                    Ok(file) => open = Some((path, BufWriter::new(file))),
                    Err(e) => {
                        eprintln!("{} cannot record a request in `{}`: {e}", aml_core::time::now(), path.display())
                    }
                }
            }
            if let (Some((_, writer)), Ok(line)) = (open.as_mut(), serde_json::to_string(&record)) {
                let _ = writeln!(writer, "{line}");
            }
            next = receiver.try_recv().ok();
        }
        if let Some((_, writer)) = open.as_mut() {
            let _ = writer.flush();
        }
    }
}

/// Remove the day files older than `KEEP_DAYS`.
fn forget_old_days(dir: &Path) {
    let oldest = aml_core::requests::record_time(aml_core::time::now_millis() - KEEP_DAYS * 86_400_000);
    let Some(oldest_day) = oldest.get(..10) else { return };
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let old = path.extension().is_some_and(|e| e == "jsonl")
            && path.file_stem().and_then(|s| s.to_str()).is_some_and(|day| day < oldest_day);
        if old {
            let _ = fs::remove_file(&path);
        }
    }
}

/// The records of the days from `since` (milliseconds) on, in file order; unreadable lines
/// (a torn last line) are skipped.
pub fn read(endpoint_dir: &Path, since: i64) -> Vec<RequestRecord> {
    let dir = requests_dir(endpoint_dir);
    let first_day = aml_core::requests::record_time(since).get(..10).unwrap_or("").to_string();
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "jsonl")
                && p.file_stem().and_then(|s| s.to_str()).is_some_and(|day| day >= first_day.as_str())
        })
        .collect();
    files.sort();
    let mut records = Vec::new();
    for file in files {
        let Ok(text) = fs::read_to_string(&file) else { continue };
        records.extend(
            text.lines()
                .filter_map(|line| serde_json::from_str::<RequestRecord>(line).ok())
                .filter(|r| record_millis(r).is_some_and(|t| t >= since)),
        );
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_files_older_than_the_kept_days_go_and_the_rest_stay() -> std::result::Result<(), Box<dyn std::error::Error>>
    {
        let dir = std::env::temp_dir().join(format!("aml-request-log-{}", aml_core::ids::random_hex::<8>()?));
        fs::create_dir_all(&dir)?;
        let today = aml_core::requests::record_time(aml_core::time::now_millis());
        for name in ["2001-01-01.jsonl", &format!("{}.jsonl", &today[..10]), "notes.txt"] {
            fs::write(dir.join(name), "")?;
        }
        forget_old_days(&dir);
        let mut left: Vec<String> =
            fs::read_dir(&dir)?.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        left.sort();
        let _ = fs::remove_dir_all(&dir);
        assert_eq!(left, [format!("{}.jsonl", &today[..10]), "notes.txt".to_string()]);
        Ok(())
    }
}
