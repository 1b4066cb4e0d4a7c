//! The router's record of every scoring request: one JSON line per request in
//! `requests/YYYY-MM-DD.jsonl` under the endpoint's folder (UTC days). The request path
//! only hands the record to a writer task, which appends whatever has arrived and flushes
//! when it has caught up, so recording costs a request no disk time; a router killed
//! outright loses at most the records still in flight, and a torn last line is skipped
//! when read.

use std::fs::{self, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use tokio::sync::mpsc;

use aml_core::requests::{RequestRecord, record_millis};

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
