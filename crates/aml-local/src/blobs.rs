//! Content-addressed blob store. Writes go to a temp file, are fsynced, then renamed,
//! so a crash never leaves a half-written blob under its final name; a database row
//! that points at a blob is only written after the rename.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use aml_core::digest::{Digest, hash_reader};
use aml_core::error::{Error, IoContext, Result};
use aml_core::progress::Progress;

pub struct BlobStore {
    root: PathBuf,
    tmp: PathBuf,
}

impl BlobStore {
    pub fn new(workspace: &Path) -> Self {
        BlobStore { root: workspace.join("blobs").join("sha256"), tmp: workspace.join("tmp") }
    }

    pub fn path(&self, digest: &Digest) -> PathBuf {
        let hex = digest.hex();
        self.root.join(&hex[..2]).join(hex)
    }

    pub fn contains(&self, digest: &Digest) -> bool {
        self.path(digest).is_file()
    }

    /// Read `source` once: hash it while a second thread writes it to a temp file (starting
    /// the disk write as it goes), fsync, then move it under its digest. The digest is of
    /// the very bytes written, so a file changing mid-read cannot yield a mislabelled blob.
    /// Returns the digest and size; a blob already present is left as it was.
    pub fn ingest(&self, source: &Path, progress: &Progress) -> Result<(Digest, u64)> {
        let tmp = self.temp_path()?;
        let result = self.ingest_into(source, &tmp, progress);
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    fn ingest_into(&self, source: &Path, tmp: &Path, progress: &Progress) -> Result<(Digest, u64)> {
        let mut input = progress.reader(File::open(source).with_path("cannot open", source)?);
        let output = File::create(tmp).with_path("cannot create", tmp)?;
        let (digest, size) = aml_core::digest::hash_and_copy(&mut input, output).map_err(|e| match e {
            aml_core::digest::CopyError::Read(e) => Error::storage(format!("cannot read `{}`", source.display()), e),
            aml_core::digest::CopyError::Write(e) => Error::storage(format!("cannot write `{}`", tmp.display()), e),
        })?;
        let target = self.path(&digest);
        if target.is_file() {
            fs::remove_file(tmp).with_path("cannot remove", tmp)?;
        } else {
            self.commit(tmp, &target)?;
        }
        Ok((digest, size))
    }

    /// Store bytes held in memory (manifests, small files).
    pub fn put_bytes(&self, bytes: &[u8]) -> Result<Digest> {
        let digest = Digest::of_bytes(bytes);
        let target = self.path(&digest);
        if target.is_file() {
            return Ok(digest);
        }
        let tmp = self.temp_path()?;
        let result = (|| {
            let mut file = File::create(&tmp).with_path("cannot create", &tmp)?;
            file.write_all(bytes).with_path("cannot write", &tmp)?;
            file.sync_all().with_path("cannot fsync", &tmp)?;
            self.commit(&tmp, &target)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result.map(|()| digest)
    }

    fn commit(&self, tmp: &Path, target: &Path) -> Result<()> {
        let dir = target.parent().unwrap_or(&self.root);
        fs::create_dir_all(dir).with_path("cannot create", dir)?;
        let mut perms = fs::metadata(tmp).with_path("cannot read", tmp)?.permissions();
        perms.set_readonly(true);
        fs::set_permissions(tmp, perms).with_path("cannot protect", tmp)?;
        fs::rename(tmp, target).with_path("cannot move a blob into place at", target)?;
        // The rename is durable only once the directory entry is.
        File::open(dir).and_then(|d| d.sync_all()).with_path("cannot fsync", dir)
    }

    fn temp_path(&self) -> Result<PathBuf> {
        fs::create_dir_all(&self.tmp).with_path("cannot create", &self.tmp)?;
        let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        Ok(self.tmp.join(format!("{}-{nanos}", std::process::id())))
    }

    /// Remove temp files left by processes that died mid-write (`kill -9`).
    pub fn sweep_abandoned(&self) {
        let Ok(entries) = fs::read_dir(&self.tmp) else { return };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(pid) = name.to_str().and_then(|n| n.split('-').next()).and_then(|p| p.parse::<i32>().ok()) else {
                continue;
            };
            if !process_alive(pid) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    /// Copy a blob out, checking its bytes against the digest on the way.
    pub fn copy_out(&self, digest: &Digest, target: &Path) -> Result<()> {
        let source = self.path(digest);
        let mut input = File::open(&source).map_err(|e| {
            Error::storage(format!("blob {digest} is missing from the workspace (`{}`)", source.display()), e)
        })?;
        let mut output = File::create(target).with_path("cannot create", target)?;
        let actual = hash_reader(&mut Tee { inner: &mut input, copy: &mut output }).with_path("cannot copy", target)?;
        if actual != *digest {
            let _ = fs::remove_file(target);
            return Err(Error::service(
                format!("blob `{}` is corrupt: expected {digest}, read {actual}", source.display()),
                Some("the workspace's files were changed outside the tools; register the model again".into()),
            ));
        }
        output.sync_all().with_path("cannot fsync", target)
    }
}

/// Reads from `inner` and writes every byte read to `copy`.
struct Tee<'a, R: Read, W: Write> {
    inner: &'a mut R,
    copy: &'a mut W,
}

impl<R: Read, W: Write> Read for Tee<'_, R, W> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.copy.write_all(&buf[..n])?;
        Ok(n)
    }
}

/// Whether a process is running. A zombie is not: an orphan's zombie can linger for good
/// where pid 1 never reaps (some containers), and `kill(pid, 0)` alone would call it alive.
#[allow(unsafe_code)]
pub(crate) fn process_alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    if let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name, which is in parentheses and may hold spaces.
        let state = stat.rsplit(')').next().and_then(|rest| rest.split_whitespace().next());
        return state.is_some_and(|s| s != "Z" && s != "X");
    }
    alive_by_signal(pid)
}

/// Where there is no procfs: signal 0 says whether the process exists (one we may not signal
/// exists too).
#[allow(unsafe_code)]
fn alive_by_signal(pid: i32) -> bool {
    // SAFETY: kill with signal 0 only checks that the process exists; it sends nothing.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zombie_is_not_alive_and_a_running_process_is() -> std::result::Result<(), Box<dyn std::error::Error>> {
        let own = std::process::id() as i32;
        assert!(process_alive(own) && alive_by_signal(own));
        assert!(!process_alive(0) && !process_alive(-1));
        // A child that has exited and is not reaped yet is a zombie: not alive.
        let mut child = std::process::Command::new("true").spawn()?;
        let pid = child.id() as i32;
        let mut zombie = false;
        for _ in 0..500 {
            let stat = fs::read_to_string(format!("/proc/{pid}/stat"))?;
            if stat.rsplit(')').next().and_then(|rest| rest.split_whitespace().next()) == Some("Z") {
                zombie = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(zombie, "the child never became a zombie");
        assert!(!process_alive(pid), "a zombie counted as alive");
        child.wait()?;
        assert!(!process_alive(pid) && !alive_by_signal(pid), "a reaped process counted as alive");
        Ok(())
    }
}
