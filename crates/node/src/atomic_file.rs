//! Output files written whole or not at all: under a temporary name in the destination's
//! directory, renamed over the destination only once complete, so an error, a refused
//! consumer or a killed process leaves the previous file as it was.

use std::fs::{self, File, Permissions};
use std::io;
use std::path::{Path, PathBuf};
use tempfile::TempPath;

/// The files SQLite keeps beside a database while it is open or after a crash.
pub(crate) const SQLITE_COMPANIONS: &[&str] = &["-wal", "-shm", "-journal"];

/// An output being written under a temporary name beside its destination.
///
/// Dropped without [`commit`](Self::commit), the temporary file (and its companions) is
/// removed and the destination is untouched. A killed process leaves the temporary file
/// behind: `.NAME.XXXXXX.tmp` in the destination's directory.
///
/// ```
/// use ringbus_node::AtomicFile;
/// let dir = tempfile::tempdir()?;
/// let dest = dir.path().join("out.txt");
/// std::fs::write(&dest, "previous")?;
/// let file = AtomicFile::new(&dest)?;
/// std::fs::write(file.path(), "half")?;
/// drop(file); // not committed: the previous content stays
/// assert_eq!(std::fs::read_to_string(&dest)?, "previous");
/// let file = AtomicFile::new(&dest)?;
/// std::fs::write(file.path(), "complete")?;
/// file.commit()?;
/// assert_eq!(std::fs::read_to_string(&dest)?, "complete");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct AtomicFile {
    temp: Option<TempPath>,
    dest: PathBuf,
    companions: &'static [&'static str],
}

impl AtomicFile {
    /// Creates an empty temporary file in `dest`'s directory (which must exist).
    pub fn new(dest: &Path) -> io::Result<Self> {
        Self::with_companions(dest, &[])
    }

    /// Like [`new`](Self::new), for a file whose writer keeps companion files beside it,
    /// named by these suffixes (SQLite's `-wal`, `-shm`, `-journal`): the temporary file's
    /// are removed with it, and the destination's stale ones before the rename, so they can
    /// never be applied to the new file.
    pub(crate) fn with_companions(
        dest: &Path,
        companions: &'static [&'static str],
    ) -> io::Result<Self> {
        let name = dest
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))?;
        let mut builder = tempfile::Builder::new();
        let prefix = format!(".{}.", name.to_string_lossy());
        builder.prefix(&prefix).suffix(".tmp");
        if let Some(permissions) = new_file_permissions() {
            builder.permissions(permissions);
        }
        let temp = builder.tempfile_in(parent(dest))?.into_temp_path();
        Ok(AtomicFile {
            temp: Some(temp),
            dest: dest.to_path_buf(),
            companions,
        })
    }

    /// The temporary file: write the output here.
    pub fn path(&self) -> &Path {
        self.temp.as_deref().unwrap_or(&self.dest)
    }

    /// Where the output goes when complete.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Syncs the complete file to disk and renames it over the destination (keeping an
    /// existing destination's permissions). Every writer of the file must be closed.
    pub fn commit(mut self) -> io::Result<()> {
        let Some(temp) = self.temp.take() else {
            return Ok(());
        };
        File::open(&temp)?.sync_all()?;
        if let Ok(meta) = fs::metadata(&self.dest) {
            if meta.is_file() {
                fs::set_permissions(&temp, meta.permissions())?;
            }
        }
        for suffix in self.companions {
            remove_if_exists(&with_suffix(&self.dest, suffix))?;
        }
        temp.persist(&self.dest).map_err(|e| e.error)?;
        sync_dir(parent(&self.dest));
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if let Some(temp) = &self.temp {
            for suffix in self.companions {
                let _ = remove_if_exists(&with_suffix(temp, suffix));
            }
        }
    }
}

/// `path` with `suffix` appended to its file name (`db` → `db-wal`).
pub(crate) fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// The directory a file goes in (`.` for a bare file name).
fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn remove_if_exists(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Permissions of a new output: those `File::create` gives (0o666 less the umask), not the
/// owner-only ones of a temporary file.
fn new_file_permissions() -> Option<Permissions> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        Some(Permissions::from_mode(0o666))
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Makes the rename durable; best effort (not every platform opens directories).
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn companions_go_with_the_temporary_file_and_stale_ones_before_the_rename() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("x.db");
        fs::write(&dest, "old").unwrap();
        fs::write(with_suffix(&dest, "-wal"), "stale").unwrap();
        let file = AtomicFile::with_companions(&dest, SQLITE_COMPANIONS).unwrap();
        let temp = file.path().to_path_buf();
        fs::write(with_suffix(&temp, "-wal"), "mine").unwrap();
        drop(file);
        assert!(!temp.exists() && !with_suffix(&temp, "-wal").exists());
        assert_eq!(
            fs::read_to_string(with_suffix(&dest, "-wal")).unwrap(),
            "stale"
        );

        let file = AtomicFile::with_companions(&dest, SQLITE_COMPANIONS).unwrap();
        fs::write(file.path(), "new").unwrap();
        file.commit().unwrap();
        assert_eq!(fs::read_to_string(&dest).unwrap(), "new");
        assert!(!with_suffix(&dest, "-wal").exists());
        let left: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "only the destination is left: {left:?}");
    }

    #[cfg(unix)]
    #[test]
    fn a_replaced_file_keeps_its_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("x");
        fs::write(&dest, "old").unwrap();
        fs::set_permissions(&dest, Permissions::from_mode(0o640)).unwrap();
        let file = AtomicFile::new(&dest).unwrap();
        fs::write(file.path(), "new").unwrap();
        file.commit().unwrap();
        assert_eq!(
            fs::metadata(&dest).unwrap().permissions().mode() & 0o777,
            0o640
        );
    }
}
