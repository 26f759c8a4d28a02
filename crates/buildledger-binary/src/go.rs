//! Go build info: locating the `\xff Go buildinf:` blob, decoding both header
//! formats, parsing the modinfo text and rendering it back the way
//! `go version -m` prints it.

use crate::BinaryError;
use crate::image::Image;
use crate::quote::{go_quote, go_quoted_prefix, go_unquote};

/// The 14-byte magic that starts the build info header.
pub const BUILDINFO_MAGIC: &[u8; 14] = b"\xff Go buildinf:";
/// The header is 16-byte aligned.
const BUILDINFO_ALIGN: u64 = 16;
/// Header size: magic, pointer size, flags, then two pointers (old format).
const BUILDINFO_HEADER_SIZE: usize = 32;
/// Most bytes searched for the magic in one data region.
pub const MAX_MAGIC_SCAN: u64 = 64 << 20;
/// Longest accepted Go version string.
pub const MAX_GO_VERSION_LEN: u64 = 4 << 10;
/// Longest accepted modinfo string (real ones are a few KiB to a few hundred KiB).
pub const MAX_MODINFO_LEN: u64 = 16 << 20;

/// One Go module as recorded in build info (`mod`, `dep` or `=>` line).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GoModule {
    /// Module path, e.g. `golang.org/x/text`.
    pub path: String,
    /// Module version, e.g. `v0.3.7`, or `(devel)` for the main module.
    pub version: String,
    /// `h1:` checksum, if recorded.
    pub sum: Option<String>,
    /// The module this one was replaced by (`=>` line).
    pub replace: Option<Box<GoModule>>,
}

impl GoModule {
    fn is_empty(&self) -> bool {
        self.path.is_empty()
            && self.version.is_empty()
            && self.sum.as_deref().unwrap_or("").is_empty()
            && self.replace.is_none()
    }
}

/// What a Go binary records about how it was built.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GoBuildInfo {
    /// Toolchain version, e.g. `go1.19.8`.
    pub go_version: String,
    /// Main package path.
    pub path: String,
    /// The main module (`mod` line).
    pub main: Option<GoModule>,
    /// Dependencies (`dep` lines) with their replacements.
    pub deps: Vec<GoModule>,
    /// Build settings (`build` lines) in recorded order, values unquoted.
    pub settings: Vec<(String, String)>,
}

impl GoBuildInfo {
    /// The value of the first build setting named `key` (e.g. `vcs.revision`).
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Render the lines `go version -m FILE` prints after its `FILE: goX` line:
    /// every line tab-indented, each ending in `\n`; empty when there is nothing.
    pub fn to_go_version_m(&self) -> String {
        let mut body = String::new();
        if !self.path.is_empty() {
            body.push_str("path\t");
            body.push_str(&self.path);
            body.push('\n');
        }
        if let Some(main) = self.main.as_ref().filter(|m| !m.is_empty()) {
            format_module(&mut body, "mod", main);
        }
        for dep in &self.deps {
            format_module(&mut body, "dep", dep);
        }
        for (key, value) in &self.settings {
            let key = if quote_key(key) {
                go_quote(key)
            } else {
                key.clone()
            };
            let value = if quote_value(value) {
                go_quote(value)
            } else {
                value.clone()
            };
            body.push_str("build\t");
            body.push_str(&key);
            body.push('=');
            body.push_str(&value);
            body.push('\n');
        }
        let mut out = String::with_capacity(body.len() + body.len() / 16);
        for line in body.split_terminator('\n') {
            out.push('\t');
            out.push_str(line);
            out.push('\n');
        }
        out
    }
}

fn format_module(buf: &mut String, word: &str, m: &GoModule) {
    buf.push_str(word);
    buf.push('\t');
    buf.push_str(&m.path);
    buf.push('\t');
    buf.push_str(&m.version);
    match &m.replace {
        None => {
            buf.push('\t');
            buf.push_str(m.sum.as_deref().unwrap_or(""));
        }
        Some(rep) => {
            buf.push('\n');
            format_module(buf, "=>", rep);
        }
    }
    buf.push('\n');
}

fn quote_key(key: &str) -> bool {
    key.is_empty() || key.contains(['=', ' ', '\t', '\r', '\n', '"', '`'])
}

fn quote_value(value: &str) -> bool {
    value.contains([' ', '\t', '\r', '\n', '"', '`'])
}

/// Where to look for the build info blob.
pub(crate) struct SearchRange {
    pub addr: u64,
    pub size: u64,
    /// True when the range is a section named for build info: a magic found
    /// there with bad contents is corruption, not an accident.
    pub dedicated: bool,
}

/// Find and decode the Go build info of an executable image.
/// `Ok(None)` when there is no build info; errors for corrupt build info.
pub(crate) fn read_go(
    img: &Image<'_>,
    range: SearchRange,
) -> Result<Option<GoBuildInfo>, BinaryError> {
    let Some(addr) = search_magic(img, range.addr, range.size) else {
        return Ok(None);
    };
    match decode_blob(img, addr) {
        Ok(info) => Ok(Some(info)),
        Err(e) if !range.dedicated && matches!(e, BinaryError::GoBuildInfo { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

fn search_magic(img: &Image<'_>, start: u64, size: u64) -> Option<u64> {
    let end = start.checked_add(size)?;
    let aligned = start.checked_add(BUILDINFO_ALIGN - 1)? & !(BUILDINFO_ALIGN - 1);
    if aligned >= end {
        return None;
    }
    let want = (end - aligned).min(MAX_MAGIC_SCAN);
    let data = img.read(aligned, want)?;
    let mut off = 0usize;
    while off + BUILDINFO_HEADER_SIZE <= data.len() {
        if data[off..].starts_with(BUILDINFO_MAGIC) {
            return Some(aligned + off as u64);
        }
        off += BUILDINFO_ALIGN as usize;
    }
    None
}

fn corrupt(addr: u64, what: impl Into<String>) -> BinaryError {
    BinaryError::GoBuildInfo {
        addr,
        what: what.into(),
    }
}

fn decode_blob(img: &Image<'_>, addr: u64) -> Result<GoBuildInfo, BinaryError> {
    let header = img
        .read(addr, BUILDINFO_HEADER_SIZE as u64)
        .filter(|h| h.len() == BUILDINFO_HEADER_SIZE)
        .ok_or_else(|| corrupt(addr, "header is truncated"))?;
    let ptr_size = header[14];
    let flags = header[15];
    let (version, modinfo) = if flags & 0x2 != 0 {
        // Go >= 1.18: two varint-prefixed strings right after the header.
        let after_header = addr
            .checked_add(BUILDINFO_HEADER_SIZE as u64)
            .ok_or_else(|| corrupt(addr, "header ends past the address space"))?;
        let (version, next) =
            decode_inline_string(img, after_header, MAX_GO_VERSION_LEN, "version")?;
        let (modinfo, _) = decode_inline_string(img, next, MAX_MODINFO_LEN, "modinfo")?;
        (version, modinfo)
    } else {
        // Go < 1.18: pointers to Go string headers {data pointer, length}.
        let big_endian = flags & 0x1 != 0;
        let ptr = match ptr_size {
            4 | 8 => usize::from(ptr_size),
            other => return Err(corrupt(addr, format!("pointer size {other} is not 4 or 8"))),
        };
        let vers_ptr = read_ptr(&header[16..16 + ptr], big_endian);
        let mod_ptr = read_ptr(&header[16 + ptr..16 + 2 * ptr], big_endian);
        let version = read_string_header(img, vers_ptr, ptr, big_endian, MAX_GO_VERSION_LEN)
            .map_err(|w| corrupt(addr, format!("version string: {w}")))?;
        let modinfo = read_string_header(img, mod_ptr, ptr, big_endian, MAX_MODINFO_LEN)
            .map_err(|w| corrupt(addr, format!("modinfo string: {w}")))?;
        (version, modinfo)
    };
    if version.is_empty() {
        return Err(corrupt(addr, "empty Go version"));
    }
    let go_version = String::from_utf8_lossy(version).into_owned();
    // Strip the 16-byte sentinels around the module text; anything else means
    // the binary was built without module support.
    let text: &[u8] = if modinfo.len() >= 33 && modinfo[modinfo.len() - 17] == b'\n' {
        &modinfo[16..modinfo.len() - 16]
    } else {
        &[]
    };
    let text = String::from_utf8_lossy(text);
    let mut info = parse_modinfo(&text)?;
    info.go_version = go_version;
    Ok(info)
}

fn read_ptr(b: &[u8], big_endian: bool) -> u64 {
    let mut v: u64 = 0;
    if big_endian {
        for &x in b {
            v = (v << 8) | u64::from(x);
        }
    } else {
        for &x in b.iter().rev() {
            v = (v << 8) | u64::from(x);
        }
    }
    v
}

/// Resolve an old-format Go string header at `addr`.
fn read_string_header<'a>(
    img: &Image<'a>,
    addr: u64,
    ptr: usize,
    big_endian: bool,
    limit: u64,
) -> Result<&'a [u8], String> {
    let hdr = img
        .read(addr, 2 * ptr as u64)
        .filter(|h| h.len() == 2 * ptr)
        .ok_or_else(|| format!("string header at {addr:#x} is not in a mapped region"))?;
    let data_addr = read_ptr(&hdr[..ptr], big_endian);
    let len = read_ptr(&hdr[ptr..], big_endian);
    if len > limit {
        return Err(format!("length {len} exceeds the limit of {limit} bytes"));
    }
    let data = img
        .read(data_addr, len)
        .ok_or_else(|| format!("data at {data_addr:#x} is not in a mapped region"))?;
    if (data.len() as u64) < len {
        return Err(format!(
            "data at {data_addr:#x} ({len} bytes) runs past the end of its region"
        ));
    }
    Ok(data)
}

/// Decode Go's unsigned varint (`encoding/binary.Uvarint`).
fn uvarint(b: &[u8]) -> Option<(u64, usize)> {
    let mut x: u64 = 0;
    let mut s: u32 = 0;
    for (i, &byte) in b.iter().enumerate().take(10) {
        if byte < 0x80 {
            if i == 9 && byte > 1 {
                return None; // overflow
            }
            return Some((x | (u64::from(byte) << s), i + 1));
        }
        x |= u64::from(byte & 0x7f) << s;
        s += 7;
    }
    None
}

fn decode_inline_string<'a>(
    img: &Image<'a>,
    addr: u64,
    limit: u64,
    what: &str,
) -> Result<(&'a [u8], u64), BinaryError> {
    let b = img
        .read(addr, 10)
        .filter(|b| !b.is_empty())
        .ok_or_else(|| corrupt(addr, format!("{what} length is past the end of its region")))?;
    let (len, n) =
        uvarint(b).ok_or_else(|| corrupt(addr, format!("{what} length is not a valid varint")))?;
    if len > limit {
        return Err(corrupt(
            addr,
            format!("{what} length {len} exceeds the limit of {limit} bytes"),
        ));
    }
    let past_end = || {
        corrupt(
            addr,
            format!("{what} ({len} bytes) runs past the end of its region"),
        )
    };
    let start = addr.checked_add(n as u64).ok_or_else(past_end)?;
    let end = start.checked_add(len).ok_or_else(past_end)?;
    let data = img.read(start, len).unwrap_or(&[]);
    if (data.len() as u64) < len {
        return Err(past_end());
    }
    Ok((data, end))
}

fn modinfo_err(line: usize, what: impl Into<String>) -> BinaryError {
    BinaryError::GoModinfo {
        line,
        what: what.into(),
    }
}

fn module_line(line: usize, rest: &str) -> Result<GoModule, BinaryError> {
    let elem: Vec<&str> = rest.split('\t').collect();
    if elem.len() != 2 && elem.len() != 3 {
        return Err(modinfo_err(
            line,
            format!("expected 2 or 3 columns; got {}", elem.len()),
        ));
    }
    Ok(GoModule {
        path: elem[0].to_owned(),
        version: elem[1].to_owned(),
        sum: elem.get(2).map(|s| (*s).to_owned()),
        replace: None,
    })
}

enum Last {
    None,
    Main,
    Dep(usize),
}

/// Parse the module text between the sentinels (the format of
/// `runtime/debug.BuildInfo.String` without the `go` line).
pub fn parse_modinfo(data: &str) -> Result<GoBuildInfo, BinaryError> {
    let mut bi = GoBuildInfo::default();
    let mut last = Last::None;
    let mut rest = data;
    let mut line_num = 1usize;
    while !rest.is_empty() {
        let Some((line, tail)) = rest.split_once('\n') else {
            break; // an unterminated last line is ignored, as Go does
        };
        rest = tail;
        if let Some(p) = line.strip_prefix("path\t") {
            bi.path = p.to_owned();
        } else if let Some(m) = line.strip_prefix("mod\t") {
            bi.main = Some(module_line(line_num, m)?);
            last = Last::Main;
        } else if let Some(d) = line.strip_prefix("dep\t") {
            bi.deps.push(module_line(line_num, d)?);
            last = Last::Dep(bi.deps.len() - 1);
        } else if let Some(r) = line.strip_prefix("=>\t") {
            let elem: Vec<&str> = r.split('\t').collect();
            if elem.len() != 3 {
                return Err(modinfo_err(
                    line_num,
                    format!("expected 3 columns for replacement; got {}", elem.len()),
                ));
            }
            let rep = Box::new(GoModule {
                path: elem[0].to_owned(),
                version: elem[1].to_owned(),
                sum: Some(elem[2].to_owned()),
                replace: None,
            });
            let target = match last {
                Last::None => None,
                Last::Main => bi.main.as_mut(),
                Last::Dep(i) => bi.deps.get_mut(i),
            };
            match target {
                Some(m) => m.replace = Some(rep),
                None => {
                    return Err(modinfo_err(
                        line_num,
                        "replacement with no module on previous line",
                    ));
                }
            }
            last = Last::None;
        } else if let Some(kv) = line.strip_prefix("build\t") {
            bi.settings.push(parse_build_line(line_num, kv)?);
        }
        line_num += 1;
    }
    Ok(bi)
}

fn parse_build_line(line: usize, kv: &str) -> Result<(String, String), BinaryError> {
    let (key, raw_value) = match kv.as_bytes().first() {
        None => return Err(modinfo_err(line, "build line missing '='")),
        Some(b'=') => return Err(modinfo_err(line, "build line with missing key")),
        Some(b'`') | Some(b'"') => {
            let raw_key = go_quoted_prefix(kv)
                .ok_or_else(|| modinfo_err(line, "invalid quoted key in build line"))?;
            let after = &kv[raw_key.len()..];
            match after.chars().next() {
                None => {
                    return Err(modinfo_err(line, "build line missing '=' after quoted key"));
                }
                Some('=') => {}
                Some(c) => {
                    return Err(modinfo_err(
                        line,
                        format!("unexpected character after quoted key: {c:?}"),
                    ));
                }
            }
            let key = go_unquote(raw_key)
                .ok_or_else(|| modinfo_err(line, "invalid quoted key in build line"))?;
            (key, &after[1..])
        }
        Some(_) => {
            let (key, value) = kv
                .split_once('=')
                .ok_or_else(|| modinfo_err(line, "build line missing '=' after key"))?;
            if quote_key(key) {
                return Err(modinfo_err(
                    line,
                    format!("unquoted key {key:?} must be quoted"),
                ));
            }
            (key.to_owned(), value)
        }
    };
    let value = match raw_value.as_bytes().first() {
        None => String::new(),
        Some(b'`') | Some(b'"') => go_unquote(raw_value)
            .ok_or_else(|| modinfo_err(line, "invalid quoted value in build line"))?,
        Some(_) => {
            if quote_value(raw_value) {
                return Err(modinfo_err(
                    line,
                    format!("unquoted value {raw_value:?} must be quoted"),
                ));
            }
            raw_value.to_owned()
        }
    };
    Ok((key, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uvarint_matches_go_rules() {
        assert_eq!(uvarint(&[0x05]), Some((5, 1)));
        assert_eq!(uvarint(&[0x96, 0x01]), Some((150, 2)));
        assert_eq!(uvarint(&[0xff; 10]), None);
        assert_eq!(uvarint(&[0x80]), None);
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(uvarint(&max), Some((u64::MAX, 10)));
    }
}
