//! `dir:` and `file:` sources: an unpacked root file system or one file.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::layer::MAX_PATH_LEN;
use crate::{EntryKind, FileEntry, ImageError, OpenOptions, Visitor, WalkStats, Warning};

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

fn warn(visitor: &mut dyn Visitor, path: Option<String>, message: String) {
    visitor.warning(Warning {
        layer: None,
        path,
        message,
    });
}

fn deliver(visitor: &mut dyn Visitor, fe: &FileEntry, abs: &Path, opts: &OpenOptions) {
    if !visitor.wants(fe) {
        return;
    }
    if fe.kind != EntryKind::File {
        if let Err(e) = visitor.visit(fe, &mut std::io::empty()) {
            warn(
                visitor,
                Some(fe.path.clone()),
                format!("visitor failed: {e}"),
            );
        }
        return;
    }
    if fe.size > opts.max_file_bytes {
        warn(
            visitor,
            Some(fe.path.clone()),
            format!(
                "file of {} bytes exceeds max_file_bytes ({}); content not read",
                fe.size, opts.max_file_bytes
            ),
        );
        return;
    }
    match fs::File::open(abs) {
        Ok(f) => {
            let mut r = std::io::Read::take(f, opts.max_file_bytes);
            if let Err(e) = visitor.visit(fe, &mut r) {
                warn(
                    visitor,
                    Some(fe.path.clone()),
                    format!("reading content failed: {e}"),
                );
            }
        }
        Err(e) => warn(visitor, Some(fe.path.clone()), format!("cannot open: {e}")),
    }
}

/// Walks a directory tree without following symlinks (so loops cannot
/// hang it), in sorted order, depth first.
pub(crate) fn walk_dir(
    root: &Path,
    opts: &OpenOptions,
    visitor: &mut dyn Visitor,
) -> Result<WalkStats, ImageError> {
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
        let rd = match fs::read_dir(&abs) {
            Ok(rd) => rd,
            Err(e) => {
                warn(
                    visitor,
                    Some(rel.clone()),
                    format!("cannot list directory: {e}"),
                );
                continue;
            }
        };
        let mut names: Vec<_> = rd.filter_map(|e| e.ok()).map(|e| e.file_name()).collect();
        names.sort();
        let mut subdirs = Vec::new();
        for name in names {
            stats.entries += 1;
            if stats.entries > opts.max_entries {
                return Err(ImageError::TooLarge {
                    what: format!("dir:{}", root.display()),
                    limit: opts.max_entries,
                    unit: "entries",
                });
            }
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
                        "path of {} bytes longer than {MAX_PATH_LEN}; skipped",
                        path.len()
                    ),
                );
                continue;
            }
            let md = match fs::symlink_metadata(&child) {
                Ok(m) => m,
                Err(e) => {
                    warn(visitor, Some(path), format!("cannot stat: {e}"));
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
            deliver(visitor, &fe, &child, opts);
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
    opts: &OpenOptions,
    visitor: &mut dyn Visitor,
) -> Result<WalkStats, ImageError> {
    let md = fs::metadata(file).map_err(|e| ImageError::io("reading", file, e))?;
    if !md.is_file() {
        return Err(ImageError::BadSource {
            spec: format!("file:{}", file.display()),
            reason: "not a regular file".into(),
        });
    }
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
    deliver(visitor, &fe, file, opts);
    Ok(WalkStats {
        entries: 1,
        visible: 1,
        bytes_decompressed: 0,
        layers: 0,
    })
}
