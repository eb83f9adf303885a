//! The only stage that touches the output directory.
//!
//! A file is written only when its bytes differ from what is already there
//! (so a no-op rebuild writes nothing and rsync/CDN deploys upload only what
//! changed), through a uniquely named temporary file renamed into place so a
//! reader never sees half a page and concurrent builds of one site never
//! trip over each other's temporary files. Files that the build no longer produces are removed, so
//! no stale page survives a deleted entry.
//!
//! It does not decide *what* to write: it gets the complete list of outputs.

use std::collections::HashSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::error::Error;
use crate::output::{Body, Output};

/// What a write did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteStats {
    /// Files written (new or changed).
    pub written: usize,
    /// Files left as they were (same bytes).
    pub unchanged: usize,
    /// Files removed.
    pub removed: usize,
}

fn same_bytes(path: &Path, bytes: &[u8]) -> bool {
    match fs::metadata(path) {
        Ok(m) if m.len() == bytes.len() as u64 => fs::read(path).is_ok_and(|b| b == bytes),
        _ => false,
    }
}

fn same_file(path: &Path, src: &Path) -> bool {
    match (fs::metadata(path), fs::metadata(src)) {
        (Ok(a), Ok(b)) if a.len() == b.len() => match (fs::read(path), fs::read(src)) {
            (Ok(x), Ok(y)) => x == y,
            _ => false,
        },
        _ => false,
    }
}

/// Writes `bytes` to `path` atomically when the file exists: a temporary file
/// with a unique name in the same directory (`.<name>.XXXXXX.vitrine-tmp`,
/// tempfile), then renamed over it, so a reader never sees half of it and two
/// processes writing the same site (`build` and `serve`) never share a
/// temporary file; on error the temporary file is removed. A new file is
/// written directly (nobody can be reading it yet), which halves the
/// file-system work of a first build; if that write fails, the partial file is
/// removed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let new_file = |path: &Path| -> std::io::Result<Option<()>> {
        match fs::OpenOptions::new().write(true).create_new(true).open(path) {
            Ok(mut f) => match f.write_all(bytes) {
                Ok(()) => Ok(Some(())),
                Err(e) => {
                    drop(f);
                    let _ = fs::remove_file(path);
                    Err(e)
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(None),
            Err(e) => Err(e),
        }
    };
    match new_file(path) {
        Ok(Some(())) => return Ok(()),
        Ok(None) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fs::create_dir_all(dir)?;
            if new_file(path)?.is_some() {
                return Ok(());
            }
        }
        Err(e) => return Err(e),
    }
    write_replace(path, bytes)
}

/// Writes `bytes` to `path` through a uniquely named temporary file in the same
/// directory, renamed over `path`, whether or not it exists: for files another
/// process may read while they are written (the image cache and its manifests,
/// the build state), where even a new file must never be seen half-written.
/// The temporary file is removed on error.
pub fn write_replace(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let mut tmp = match tempfile::Builder::new().prefix(&format!(".{name}.")).suffix(".vitrine-tmp").tempfile_in(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fs::create_dir_all(dir)?;
            tempfile::Builder::new().prefix(&format!(".{name}.")).suffix(".vitrine-tmp").tempfile_in(dir)?
        }
        r => r?,
    };
    tmp.write_all(bytes)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Writes one output if it changed; returns whether it wrote.
pub fn write_output(out_dir: &Path, o: &Output) -> Result<bool, Error> {
    let path = out_dir.join(&o.path);
    match &o.body {
        Body::Bytes(b) => {
            if same_bytes(&path, b) {
                return Ok(false);
            }
            write_atomic(&path, b).map_err(|e| Error::io(&path, e))?;
        }
        Body::Copy(src) => {
            if same_file(&path, src) {
                return Ok(false);
            }
            let bytes = fs::read(src).map_err(|e| Error::io(src, e))?;
            write_atomic(&path, &bytes).map_err(|e| Error::io(&path, e))?;
        }
    }
    Ok(true)
}

/// Makes `out_dir` contain exactly `outputs`.
pub fn write_outputs(out_dir: &Path, outputs: &[Output]) -> Result<WriteStats, Error> {
    fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir, e))?;
    let results: Vec<Result<bool, Error>> = outputs.par_iter().map(|o| write_output(out_dir, o)).collect();
    let mut stats = WriteStats::default();
    for r in results {
        if r? {
            stats.written += 1;
        } else {
            stats.unchanged += 1;
        }
    }
    let keep: HashSet<PathBuf> = outputs.iter().map(|o| out_dir.join(&o.path)).collect();
    stats.removed = remove_stale(out_dir, &keep)?;
    Ok(stats)
}

/// For an incremental rebuild: writes `outputs` whose bytes changed, then removes
/// the files `gone` (paths relative to `out_dir`) and the directories they leave empty.
pub fn write_changes<'a>(out_dir: &Path, outputs: &[Output], gone: impl IntoIterator<Item = &'a String>) -> Result<WriteStats, Error> {
    let mut stats = WriteStats::default();
    let results: Vec<Result<bool, Error>> = outputs.par_iter().map(|o| write_output(out_dir, o)).collect();
    for written in results {
        if written? {
            stats.written += 1;
        } else {
            stats.unchanged += 1;
        }
    }
    for gone in gone {
        let path = out_dir.join(gone);
        if path.is_file() {
            fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
            stats.removed += 1;
            let mut dir = path.parent();
            while let Some(d) = dir.filter(|d| *d != out_dir) {
                if fs::remove_dir(d).is_err() {
                    break;
                }
                dir = d.parent();
            }
        }
    }
    Ok(stats)
}

/// Removes files under `out_dir` not in `keep`, then empty directories.
pub fn remove_stale(out_dir: &Path, keep: &HashSet<PathBuf>) -> Result<usize, Error> {
    let mut removed = 0;
    let mut dirs = Vec::new();
    for e in walkdir::WalkDir::new(out_dir).min_depth(1) {
        let e = e.map_err(|e| Error::io(out_dir, e.into_io_error().unwrap_or_else(|| std::io::Error::other("walk"))))?;
        if e.file_type().is_dir() {
            dirs.push(e.into_path());
        } else if !keep.contains(e.path()) {
            fs::remove_file(e.path()).map_err(|err| Error::io(e.path(), err))?;
            removed += 1;
        }
    }
    for d in dirs.iter().rev() {
        let _ = fs::remove_dir(d); // fails, harmlessly, when not empty
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }

    #[test]
    fn writes_replace_whole_files_and_leave_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sous/page.html");
        write_atomic(&p, b"un").unwrap();
        write_atomic(&p, b"deux").unwrap();
        write_replace(&dir.path().join("sous/cache.txt"), b"trois").unwrap();
        write_replace(&dir.path().join("sous/cache.txt"), b"quatre").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"deux");
        assert_eq!(fs::read(dir.path().join("sous/cache.txt")).unwrap(), b"quatre");
        assert_eq!(names(&dir.path().join("sous")), ["cache.txt", "page.html"]);
    }

    #[test]
    fn a_failed_write_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        // The target is a directory: the rename fails after the temporary file was written.
        fs::create_dir(dir.path().join("page.html")).unwrap();
        fs::write(dir.path().join("page.html/x"), b"x").unwrap();
        assert!(write_atomic(&dir.path().join("page.html"), b"contenu").is_err());
        assert!(write_replace(&dir.path().join("page.html"), b"contenu").is_err());
        assert_eq!(names(dir.path()), ["page.html"], "no temporary file left");
        // A parent that is a file: nothing can be created.
        fs::write(dir.path().join("fichier"), b"x").unwrap();
        assert!(write_atomic(&dir.path().join("fichier/page.html"), b"contenu").is_err());
        assert_eq!(names(dir.path()), ["fichier", "page.html"]);
    }

    #[test]
    fn concurrent_writers_of_one_file_never_fail_or_mix_their_bytes() {
        // As `build` and `serve` rewriting the same page at the same moment.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("page.html");
        fs::write(&p, b"ancienne version").unwrap();
        let contents: Vec<Vec<u8>> = (0..8u8).map(|i| vec![b'a' + i; 64 * 1024]).collect();
        std::thread::scope(|s| {
            for c in &contents {
                let (p, c) = (&p, c);
                s.spawn(move || {
                    for round in 0..200 {
                        let r = if round % 2 == 0 { write_atomic(p, c) } else { write_replace(p, c) };
                        r.unwrap_or_else(|e| panic!("a concurrent write failed: {e}"));
                    }
                });
            }
        });
        let end = fs::read(&p).unwrap();
        assert!(contents.contains(&end), "the file is one writer's whole content");
        assert_eq!(names(dir.path()), ["page.html"], "no temporary file left");
    }
}
