//! Which file a path names: two spellings of one file (`a.rbl`, `./a.rbl`, a symbolic or
//! hard link) are the same file; a file that does not exist yet is known by its directory's
//! canonical path and its name.

use same_file::Handle;
use std::io;
use std::path::{Path, PathBuf};

/// The identity of a file, an existing one or one about to be created, or of standard
/// input or output.
///
/// ```
/// use ringbus_node::FileIdentity;
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("a.rbl"), b"x")?;
/// let a = FileIdentity::of(&dir.path().join("a.rbl"))?;
/// let again = FileIdentity::of(&dir.path().join(".").join("a.rbl"))?;
/// assert!(a.same_as(&again));
/// let new = FileIdentity::of(&dir.path().join("new.db"))?;
/// let new_again = FileIdentity::of(&dir.path().join("sub/../new.db"))?;
/// assert!(new.same_as(&new_again) && !new.same_as(&a));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct FileIdentity {
    /// The open file's device and inode (file index on Windows), when it exists.
    handle: Option<Handle>,
    /// The canonical path (of the directory, plus the name, when the file does not exist).
    resolved: Option<PathBuf>,
}

impl FileIdentity {
    /// The file `path` names.
    pub fn of(path: &Path) -> io::Result<Self> {
        let resolved = resolve(path)?;
        // An existing file that cannot be opened (no read permission) is still known by its
        // canonical path.
        let handle = Handle::from_path(path).ok();
        Ok(FileIdentity {
            handle,
            resolved: Some(resolved),
        })
    }

    /// Standard input: a file redirected to it is the same file as that file; a pipe or a
    /// terminal is the same as no file.
    pub fn stdin() -> io::Result<Self> {
        Ok(Self::stream(Handle::stdin()?))
    }

    /// Standard output, as [`stdin`](Self::stdin).
    pub fn stdout() -> io::Result<Self> {
        Ok(Self::stream(Handle::stdout()?))
    }

    fn stream(handle: Handle) -> Self {
        let is_file = handle.as_file().metadata().is_ok_and(|m| m.is_file());
        FileIdentity {
            handle: is_file.then_some(handle),
            resolved: None,
        }
    }

    /// Whether both name one file.
    pub fn same_as(&self, other: &FileIdentity) -> bool {
        if let (Some(a), Some(b)) = (&self.handle, &other.handle) {
            if a == b {
                return true;
            }
        }
        matches!((&self.resolved, &other.resolved), (Some(a), Some(b)) if a == b)
    }
}

/// The canonical path of `path`; for a path that does not exist, the canonical path of its
/// nearest existing ancestor with the rest appended (`.` and `..` applied to the names).
fn resolve(path: &Path) -> io::Result<PathBuf> {
    match std::fs::canonicalize(path) {
        Ok(p) => Ok(p),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let parent = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            match path.file_name() {
                Some(name) => Ok(resolve(parent)?.join(name)),
                // `..` or `.` at the end of a path that does not exist.
                None => {
                    let mut base = resolve(parent)?;
                    if path.ends_with("..") {
                        base.pop();
                    }
                    Ok(base)
                }
            }
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_and_links_of_one_file_are_one_file() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.rbl");
        std::fs::write(&a, b"x").unwrap();
        std::fs::write(dir.path().join("b.rbl"), b"x").unwrap();
        std::fs::hard_link(&a, dir.path().join("hard")).unwrap();
        let id = |p: &str| FileIdentity::of(&dir.path().join(p)).unwrap();
        assert!(id("a.rbl").same_as(&id("./a.rbl")));
        assert!(id("a.rbl").same_as(&id("hard")));
        assert!(!id("a.rbl").same_as(&id("b.rbl")));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(&a, dir.path().join("soft")).unwrap();
            assert!(id("a.rbl").same_as(&id("soft")));
        }
    }

    #[test]
    fn new_files_under_new_directories_compare_by_resolved_path() {
        let dir = tempfile::tempdir().unwrap();
        let id = |p: &str| FileIdentity::of(&dir.path().join(p)).unwrap();
        assert!(id("x/y/z.db").same_as(&id("x/./y/../y/z.db")));
        assert!(!id("x/y/z.db").same_as(&id("x/y/w.db")));
    }
}
