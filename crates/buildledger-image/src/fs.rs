//! `dir:` and `file:` sources: an unpacked root file system or one file.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::layer::MAX_PATH_LEN;
use crate::layout::open_file;
use crate::limits::Budget;
use crate::{EntryKind, FileEntry, ImageError, Visitor, WalkStats, Warning};

fn kind_of(ft: fs::FileType) -> EntryKind {
    if ft.is_symlink() {
        EntryKind::Symlink
    } else if ft.is_dir() {
        EntryKind::Dir
    } else if ft.is_file() {
        EntryKind::File
    } else {
        // FIFOs, sockets, devices.
        EntryKind::Other
    }
}

fn warn(visitor: &mut dyn Visitor, path: Option<String>, message: String, skipped: bool) {
    visitor.warning(Warning {
        layer: None,
        path,
        message,
        skipped,
    });
}

/// An error from the visitor (or the file it reads) ends the walk.
fn visit_failed(budget: &Budget, abs: &Path, e: std::io::Error) -> ImageError {
    match budget.tripped() {
        Some(l) => ImageError::Limit(l),
        None => ImageError::io("reading", abs, e),
    }
}

/// The content of a file as handed to a visitor: the time bound holds.
struct ContentReader<'b, R> {
    inner: R,
    budget: &'b Budget,
    what: &'b str,
}

impl<R: std::io::Read> std::io::Read for ContentReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.budget.check_time(self.what)?;
        self.inner.read(buf)
    }
}

fn deliver(
    visitor: &mut dyn Visitor,
    fe: &FileEntry,
    abs: &Path,
    budget: &Budget,
) -> Result<(), ImageError> {
    if !visitor.wants(fe) {
        return Ok(());
    }
    if fe.kind != EntryKind::File {
        return visitor
            .visit(fe, &mut std::io::empty())
            .map_err(|e| visit_failed(budget, abs, e));
    }
    let max = budget.limits().max_file_bytes;
    if fe.size > max {
        warn(
            visitor,
            Some(fe.path.clone()),
            format!(
                "file of {} bytes exceeds max_file_bytes ({max}); content not read",
                fe.size
            ),
            true,
        );
        return Ok(());
    }
    match open_file(abs, "opening") {
        Ok(f) => {
            // The size seen when listing is what is read, even if the file grows.
            let mut r = ContentReader {
                inner: std::io::Read::take(f, fe.size),
                budget,
                what: &fe.path,
            };
            visitor
                .visit(fe, &mut r)
                .map_err(|e| visit_failed(budget, abs, e))
        }
        Err(e) => {
            warn(
                visitor,
                Some(fe.path.clone()),
                format!("cannot open: {e}; content not read"),
                true,
            );
            Ok(())
        }
    }
}

fn limit(budget: &Budget, e: std::io::Error) -> ImageError {
    match budget.tripped() {
        Some(l) => ImageError::Limit(l),
        None => ImageError::io("walking", "", e),
    }
}

/// Walks a directory tree without following symlinks (so loops cannot
/// hang it), in sorted order, depth first.
pub(crate) fn walk_dir(
    root: &Path,
    budget: &Budget,
    visitor: &mut dyn Visitor,
) -> Result<WalkStats, ImageError> {
    let what = format!("dir:{}", root.display());
    let meta = fs::symlink_metadata(root).map_err(|e| ImageError::io("reading", root, e))?;
    if !meta.is_dir() {
        return Err(ImageError::BadSource {
            spec: format!("dir:{}", root.display()),
            reason: "not a directory".into(),
        });
    }
    let mut stats = WalkStats::default();
    let mut stack: Vec<(PathBuf, String)> = vec![(root.to_path_buf(), String::new())];
    while let Some((abs, rel)) = stack.pop() {
        budget.check_time(&what).map_err(|e| limit(budget, e))?;
        let rd = match fs::read_dir(&abs) {
            Ok(rd) => rd,
            Err(e) => {
                warn(
                    visitor,
                    Some(rel.clone()),
                    format!("cannot list directory: {e}; its content was not examined"),
                    true,
                );
                continue;
            }
        };
        // Names are counted as they are listed, so one huge directory cannot
        // grow this list past max_entries.
        let mut names = Vec::new();
        for e in rd {
            match e {
                Ok(e) => {
                    budget.add_entry(&what).map_err(|e| limit(budget, e))?;
                    names.push(e.file_name());
                }
                Err(e) => warn(
                    visitor,
                    Some(rel.clone()),
                    format!("cannot list directory entry: {e}"),
                    true,
                ),
            }
        }
        names.sort();
        let mut subdirs = Vec::new();
        for name in names {
            stats.entries += 1;
            let name_s = name.to_string_lossy();
            let path = if rel.is_empty() {
                name_s.to_string()
            } else {
                format!("{rel}/{name_s}")
            };
            let child = abs.join(&name);
            if path.len() > MAX_PATH_LEN {
                warn(
                    visitor,
                    None,
                    format!(
                        "path of {} bytes longer than {MAX_PATH_LEN}; entry skipped",
                        path.len()
                    ),
                    true,
                );
                continue;
            }
            let md = match fs::symlink_metadata(&child) {
                Ok(m) => m,
                Err(e) => {
                    warn(visitor, Some(path), format!("cannot stat: {e}"), true);
                    continue;
                }
            };
            let kind = kind_of(md.file_type());
            let link_target = if kind == EntryKind::Symlink {
                fs::read_link(&child)
                    .ok()
                    .map(|t| t.to_string_lossy().into_owned())
            } else {
                None
            };
            let fe = FileEntry {
                path: path.clone(),
                kind,
                size: if kind == EntryKind::File { md.len() } else { 0 },
                mode: md.permissions().mode() & 0o7777,
                link_target,
                layer: None,
            };
            stats.visible += 1;
            deliver(visitor, &fe, &child, budget)?;
            if kind == EntryKind::Dir {
                subdirs.push((child, path));
            }
        }
        // Reverse so the stack pops them in sorted order.
        stack.extend(subdirs.into_iter().rev());
    }
    Ok(stats)
}

/// Presents one file as a one-entry image; its path is the file name.
pub(crate) fn walk_file(
    file: &Path,
    budget: &Budget,
    visitor: &mut dyn Visitor,
) -> Result<WalkStats, ImageError> {
    // Opened (non-blocking, regular files only) rather than stat'ed by
    // path: `file:/dev/zero` or a FIFO is refused without being read.
    let md = open_file(file, "opening")?
        .metadata()
        .map_err(|e| ImageError::io("reading", file, e))?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let fe = FileEntry {
        path: name,
        kind: EntryKind::File,
        size: md.len(),
        mode: md.permissions().mode() & 0o7777,
        link_target: None,
        layer: None,
    };
    deliver(visitor, &fe, file, budget)?;
    Ok(WalkStats {
        entries: 1,
        visible: 1,
        bytes_decompressed: 0,
        layers: 0,
    })
}
