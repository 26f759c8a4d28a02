//! Node.js lock files: what npm, yarn and pnpm pinned, read without running
//! any of them.
//!
//! * **npm**: `package-lock.json` and `npm-shrinkwrap.json`, lockfileVersion
//!   1 (the nested `dependencies` tree), 2 and 3 (the `packages` map keyed by
//!   install path), and npm 7+'s hidden `node_modules/.package-lock.json`
//!   (the `packages` map only).
//! * **yarn**: `yarn.lock` in the classic v1 text format (read by hand: it
//!   is not YAML) and in yarn 2+'s ("berry") YAML format, told apart by
//!   berry's `__metadata:` block.
//! * **pnpm**: `pnpm-lock.yaml` lockfileVersion 5.x (and older),
//!   6.x–8.x and 9.x, from its `packages` map.
//!
//! Everything read is untrusted. JSON and YAML are walked by visitors that
//! keep only the few fields needed, so that neither a huge nor a hostile
//! document is ever materialised as a tree: every node visited and every
//! byte kept is charged to a budget of twice the input size (plus 4 KiB);
//! at most [`MAX_LOCK_ENTRIES`] entries are read per file; npm v1
//! `dependencies` are followed [`V1_MAX_DEPTH`] levels deep; serde_json
//! and serde_yaml_ng refuse input nested more than 128 levels deep. YAML
//! is only handed to serde_yaml_ng (libyaml) once [`yaml_subset_ok`] has
//! checked, in linear time, that it is in the plain subset pnpm and yarn
//! write: libyaml takes time quadratic in the depth of nested flow
//! collections (`[[[[…`), and anchors and aliases (which the subset leaves
//! out, and the budget would also stop) can blow a small file up. A
//! document that is not well formed, not in that subset, or over the budget
//! gives nothing.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Visitor};

/// Most entries read from one lock file (`packages`/`dependencies` entries,
/// nested ones included, or yarn.lock blocks); the rest are skipped.
pub const MAX_LOCK_ENTRIES: usize = 200_000;

/// Deepest npm lockfileVersion 1 `dependencies` level read (top level = 1);
/// deeper ones are skipped (the JSON parser's own limit of 128 nesting
/// levels would stop at about 63).
const V1_MAX_DEPTH: usize = 32;

/// Deepest nesting [`Skip`] walks (the JSON and YAML parsers stop at 128
/// themselves; this keeps the walker safe on its own).
const MAX_NESTING: usize = 128;

/// A kind of Node.js lock file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockKind {
    /// npm's `package-lock.json`, `npm-shrinkwrap.json` or
    /// `node_modules/.package-lock.json`.
    Npm,
    /// yarn's `yarn.lock` (v1 or berry).
    Yarn,
    /// pnpm's `pnpm-lock.yaml`.
    Pnpm,
}

/// Which lock file `path` is, by its file name: `package-lock.json`,
/// `npm-shrinkwrap.json`, `yarn.lock` or `pnpm-lock.yaml` — but not inside a
/// `node_modules` directory (a dependency's own lock file describes that
/// dependency's development tree, not what is installed) — and npm 7+'s
/// hidden lock file `node_modules/.package-lock.json` (directly in the
/// outermost `node_modules` directory).
pub fn node_lockfile_kind(path: &str) -> Option<LockKind> {
    let parts: Vec<&str> = path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    let (file, dirs) = parts.split_last()?;
    let in_node_modules = |dirs: &[&str]| dirs.contains(&"node_modules");
    match *file {
        ".package-lock.json" => match dirs.split_last() {
            Some((&"node_modules", above)) if !in_node_modules(above) => Some(LockKind::Npm),
            _ => None,
        },
        _ if in_node_modules(dirs) => None,
        "package-lock.json" | "npm-shrinkwrap.json" => Some(LockKind::Npm),
        "yarn.lock" => Some(LockKind::Yarn),
        "pnpm-lock.yaml" => Some(LockKind::Pnpm),
        _ => None,
    }
}

/// `(name, version)` of every package the lock file pins, deduplicated and
/// sorted. Names are the real package names (an alias — npm's
/// `"foo": "npm:bar@1"`, yarn's `foo@npm:bar@^1` — gives `bar`), versions
/// are registry versions. Left out:
///
/// * the root project and workspace packages: npm's `""` key and every
///   `packages` key that is not an install path under `node_modules/`;
///   yarn berry's `workspace:` entries; pnpm's `importers`, which are not
///   read at all;
/// * links: npm `"link": true`, yarn `link:`/`portal:`, pnpm `link:`;
/// * anything not from an npm registry: `file:` directories and tarballs,
///   git and GitHub sources, `exec:`, and tarball URLs. npm (v1 `version`
///   not a plain version, or a `resolved` that is not an `http(s)` registry
///   tarball — a URL with a `/-/` path segment, as every npm registry
///   serves them, or a GitHub Packages download), yarn v1 (a range with a
///   protocol or a `/`, or a non-registry `resolved`), yarn berry (a
///   resolution whose protocol is not `npm:`), pnpm (5.x–8.x keys not
///   starting with `/`, and versions with a `:` or `/`);
/// * entries whose name or version fails the check [`crate::parse_package_json`]
///   makes (empty, over 214 bytes, whitespace or control characters).
///
/// Kept: dev, optional, peer, bundled and extraneous packages, and yarn
/// berry `patch:` entries of an npm package (`resolve@patch:resolve@npm%3A1.22.8#…`
/// pins resolve 1.22.8: the patched code is still that registry release).
/// pnpm peer suffixes (`_peer@1` in 5.x, `(peer@1)` from 6.0) are stripped.
///
/// Bounds: at most [`MAX_LOCK_ENTRIES`] entries are read (the rest are
/// skipped); npm lockfileVersion 1 `dependencies` are followed 32 levels
/// deep; every node visited and byte kept counts against a budget of twice
/// the input's size.
///
/// Malformed input gives an empty Vec, never a panic: not UTF-8, not the
/// format, wrong types where the structure is expected, nested over 128
/// levels, over the budget, or — for the YAML ones — outside the plain
/// subset pnpm and yarn berry write (no anchors, aliases, tags, directives,
/// or plain or quoted scalars and flow collections spanning lines; flow
/// collections at most 16 deep; block scalars are fine), which keeps
/// libyaml's time linear. A
/// wrongly typed field inside one entry only drops that entry.
pub fn parse_node_lockfile(kind: LockKind, bytes: &[u8]) -> Vec<(String, String)> {
    let found = match kind {
        LockKind::Npm => npm(bytes),
        LockKind::Yarn if is_berry(bytes) => berry(bytes),
        LockKind::Yarn => yarn_v1(bytes),
        LockKind::Pnpm => pnpm(bytes),
    };
    found.map(|s| s.into_iter().collect()).unwrap_or_default()
}

/// The check [`crate::parse_package_json`] makes of a name or a version:
/// trimmed, non-empty, at most 214 bytes, no whitespace or control
/// characters.
pub(crate) fn valid_npm_field(s: &str) -> Option<&str> {
    let s = s.trim();
    (!s.is_empty() && s.len() <= 214 && !s.chars().any(|c| c.is_whitespace() || c.is_control()))
        .then_some(s)
}

type Pins = BTreeSet<(String, String)>;

/// Adds `(name, version)` when both pass [`valid_npm_field`] and the
/// version is a registry one (no `:` or `/`: not a URL, path or git spec).
fn pin(out: &mut Pins, name: &str, version: &str) {
    if let (Some(n), Some(v)) = (valid_npm_field(name), valid_npm_field(version))
        && !v.contains([':', '/'])
        && !n.contains(':')
    {
        out.insert((n.to_string(), v.to_string()));
    }
}

/// Is `url` a tarball served by an npm registry
/// (`https://registry.npmjs.org/@babel/parser/-/parser-7.0.0.tgz`, any
/// mirror or private registry: they all use the `/-/` segment; GitHub
/// Packages' `https://npm.pkg.github.com/download/…`)?
fn registry_tarball(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return false;
    };
    let path = rest.split(['?', '#']).next().unwrap_or(rest);
    path.contains("/-/") || path.starts_with("npm.pkg.github.com/download/")
}

/// Splits `name@rest` at the `@` that ends the name (`@scope/name@^1` →
/// `("@scope/name", "^1")`).
fn split_name(spec: &str) -> Option<(&str, &str)> {
    let at = spec.get(1..)?.find('@')? + 1;
    Some((&spec[..at], &spec[at + 1..]))
}

// ---------------------------------------------------------------------------
// Budgeted walking of JSON and YAML documents.

/// Shared state of one document walk.
struct Ctx {
    /// Units left: one per node visited, one per byte kept.
    budget: Cell<usize>,
    /// Entries read so far (against [`MAX_LOCK_ENTRIES`]).
    entries: Cell<usize>,
}

impl Ctx {
    fn new(input_len: usize) -> Ctx {
        Ctx {
            budget: Cell::new(input_len.saturating_mul(2).saturating_add(4096)),
            entries: Cell::new(0),
        }
    }

    fn charge<E: de::Error>(&self, units: usize) -> Result<(), E> {
        match self.budget.get().checked_sub(units) {
            Some(left) => {
                self.budget.set(left);
                Ok(())
            }
            None => Err(E::custom("lock file exceeds its walking budget")),
        }
    }

    /// Counts one more entry; false once [`MAX_LOCK_ENTRIES`] were read.
    fn take_entry(&self) -> bool {
        let n = self.entries.get();
        self.entries.set(n + 1);
        n < MAX_LOCK_ENTRIES
    }
}

/// Scalar visits that are charged one unit and give `$default`.
macro_rules! ignore_scalars {
    ($default:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            self.ctx.charge(1)?;
            Ok($default)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            self.ctx.charge(1)?;
            Ok($default)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            self.ctx.charge(1)?;
            Ok($default)
        }
        fn visit_i128<E: de::Error>(self, _: i128) -> Result<Self::Value, E> {
            self.ctx.charge(1)?;
            Ok($default)
        }
        fn visit_u128<E: de::Error>(self, _: u128) -> Result<Self::Value, E> {
            self.ctx.charge(1)?;
            Ok($default)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            self.ctx.charge(1)?;
            Ok($default)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            self.ctx.charge(1)?;
            Ok($default)
        }
        fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Self::Value, E> {
            self.ctx.charge(1)?;
            Ok($default)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            self.ctx.charge(1)?;
            Ok($default)
        }
    };
}

/// Sequence, tagged (YAML `!tag`) and wrapped visits that walk the content
/// with [`Skip`] and give `$default`.
macro_rules! skip_containers {
    ($default:expr) => {
        fn visit_seq<A: SeqAccess<'de>>(self, a: A) -> Result<Self::Value, A::Error> {
            Skip::new(self.ctx, self.depth).visit_seq(a)?;
            Ok($default)
        }
        fn visit_enum<A: EnumAccess<'de>>(self, a: A) -> Result<Self::Value, A::Error> {
            Skip::new(self.ctx, self.depth).visit_enum(a)?;
            Ok($default)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            Skip::new(self.ctx, self.depth).visit_some(d)?;
            Ok($default)
        }
        fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            Skip::new(self.ctx, self.depth).visit_newtype_struct(d)?;
            Ok($default)
        }
    };
}

/// Walks any value, keeping nothing, charging every node (YAML aliases
/// included: they are followed, so each expansion costs its size).
#[derive(Clone, Copy)]
struct Skip<'c> {
    ctx: &'c Ctx,
    depth: usize,
}

impl<'c> Skip<'c> {
    fn new(ctx: &'c Ctx, depth: usize) -> Skip<'c> {
        Skip { ctx, depth }
    }

    fn deeper<E: de::Error>(self) -> Result<Skip<'c>, E> {
        self.ctx.charge(1)?;
        if self.depth >= MAX_NESTING {
            return Err(E::custom("lock file nested too deeply"));
        }
        Ok(Skip::new(self.ctx, self.depth + 1))
    }
}

impl<'de> DeserializeSeed<'de> for Skip<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any value")
    }
    ignore_scalars!(());
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<(), A::Error> {
        let inner = self.deeper()?;
        while a.next_element_seed(inner)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<(), A::Error> {
        let inner = self.deeper()?;
        while a.next_key_seed(inner)?.is_some() {
            a.next_value_seed(inner)?;
        }
        Ok(())
    }
    fn visit_enum<A: EnumAccess<'de>>(self, a: A) -> Result<(), A::Error> {
        let inner = self.deeper()?;
        let ((), variant) = a.variant_seed(inner)?;
        de::VariantAccess::newtype_variant_seed(variant, inner)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let inner = self.deeper()?;
        inner.deserialize(d)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let inner = self.deeper()?;
        inner.deserialize(d)
    }
}

/// A scalar as text (`4.17.21`, `5.4`, `true`); `None` for null and for
/// sequences and maps (walked with [`Skip`]), and, when `strings_only`, for
/// numbers and booleans (a name or version that is not a string is of the
/// wrong type, as [`crate::parse_package_json`] has it).
#[derive(Clone, Copy)]
struct Scalar<'c> {
    ctx: &'c Ctx,
    depth: usize,
    strings_only: bool,
}

impl Scalar<'_> {
    fn keep<E: de::Error>(self, s: impl ToString) -> Result<Option<String>, E> {
        if self.strings_only {
            self.ctx.charge(1)?;
            return Ok(None);
        }
        let s = s.to_string();
        self.ctx.charge(1 + s.len())?;
        Ok(Some(s))
    }
}

impl<'de> DeserializeSeed<'de> for Scalar<'_> {
    type Value = Option<String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Scalar<'_> {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a scalar")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        self.keep(v)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        self.keep(v)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        self.keep(v)
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Self::Value, E> {
        self.keep(v)
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Self::Value, E> {
        self.keep(v)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        self.keep(v)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        self.ctx.charge(1 + v.len())?;
        Ok(Some(v.to_string()))
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Self::Value, E> {
        self.ctx.charge(1)?;
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.ctx.charge(1)?;
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, a: A) -> Result<Self::Value, A::Error> {
        Skip::new(self.ctx, self.depth).visit_map(a)?;
        Ok(None)
    }
    skip_containers!(None);
}

/// The fields of one lock file entry that are read.
#[derive(Debug, Default)]
struct Fields {
    version: Option<String>,
    name: Option<String>,
    /// npm's tarball URL.
    resolved: Option<String>,
    /// yarn berry's locator.
    resolution: Option<String>,
    /// npm `"link": true`.
    link: bool,
    /// npm lockfileVersion 1 nested `dependencies`.
    children: Vec<(String, Fields)>,
}

/// One entry (a map); `None` when it is not a map.
#[derive(Clone, Copy)]
struct Entry<'c> {
    ctx: &'c Ctx,
    depth: usize,
    /// `Some(level)`: an npm v1 entry at that `dependencies` level, whose
    /// own `dependencies` are entries too.
    v1_level: Option<usize>,
}

impl<'de> DeserializeSeed<'de> for Entry<'_> {
    type Value = Option<Fields>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<Fields>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Entry<'_> {
    type Value = Option<Fields>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a lock file entry")
    }
    ignore_scalars!(None);
    skip_containers!(None);
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
        let inner = Skip::new(self.ctx, self.depth).deeper()?;
        let scalar = Scalar {
            ctx: self.ctx,
            depth: inner.depth,
            strings_only: false,
        };
        let string = Scalar {
            strings_only: true,
            ..scalar
        };
        let mut f = Fields::default();
        while let Some(key) = a.next_key_seed(scalar)? {
            match key.as_deref() {
                Some("version") => f.version = a.next_value_seed(string)?,
                Some("name") => f.name = a.next_value_seed(string)?,
                Some("resolved") => f.resolved = a.next_value_seed(string)?,
                Some("resolution") => f.resolution = a.next_value_seed(string)?,
                Some("link") => f.link = a.next_value_seed(scalar)?.as_deref() == Some("true"),
                Some("dependencies") if self.v1_level.is_some_and(|l| l < V1_MAX_DEPTH) => {
                    f.children = a.next_value_seed(Entries {
                        ctx: self.ctx,
                        depth: inner.depth,
                        v1_level: self.v1_level.map(|l| l + 1),
                    })?;
                }
                _ => a.next_value_seed(inner)?,
            }
        }
        Ok(Some(f))
    }
}

/// A map of entries (`packages`, `dependencies`); empty when it is not a
/// map. Entries past [`MAX_LOCK_ENTRIES`] are walked but not kept.
#[derive(Clone, Copy)]
struct Entries<'c> {
    ctx: &'c Ctx,
    depth: usize,
    v1_level: Option<usize>,
}

impl<'de> DeserializeSeed<'de> for Entries<'_> {
    type Value = Vec<(String, Fields)>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// Reads the remaining entries of `a` into `out`, skipping `skip_key`.
fn read_entries<'de, A: MapAccess<'de>>(
    ctx: &Ctx,
    depth: usize,
    v1_level: Option<usize>,
    skip_key: Option<&str>,
    mut a: A,
    out: &mut Vec<(String, Fields)>,
) -> Result<(), A::Error> {
    let inner = Skip::new(ctx, depth).deeper()?;
    let scalar = Scalar {
        ctx,
        depth: inner.depth,
        strings_only: false,
    };
    let entry = Entry {
        ctx,
        depth: inner.depth,
        v1_level,
    };
    while let Some(key) = a.next_key_seed(scalar)? {
        match key {
            Some(key) if skip_key != Some(key.as_str()) && ctx.take_entry() => {
                if let Some(fields) = a.next_value_seed(entry)? {
                    out.push((key, fields));
                }
            }
            _ => a.next_value_seed(inner)?,
        }
    }
    Ok(())
}

impl<'de> Visitor<'de> for Entries<'_> {
    type Value = Vec<(String, Fields)>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map of lock file entries")
    }
    ignore_scalars!(Vec::new());
    skip_containers!(Vec::new());
    fn visit_map<A: MapAccess<'de>>(self, a: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        read_entries(self.ctx, self.depth, self.v1_level, None, a, &mut out)?;
        Ok(out)
    }
}

/// Which top-level layout a document has.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// `lockfileVersion`, `packages`, `dependencies` (npm).
    Npm,
    /// `lockfileVersion`, `packages` (pnpm).
    Pnpm,
    /// Every key but `__metadata` is an entry (yarn berry).
    Berry,
}

#[derive(Default)]
struct Top {
    lockfile_version: Option<String>,
    packages: Option<Vec<(String, Fields)>>,
    dependencies: Option<Vec<(String, Fields)>>,
    /// yarn berry's entries.
    entries: Vec<(String, Fields)>,
}

/// The document: a map, or an error.
#[derive(Clone, Copy)]
struct TopSeed<'c> {
    ctx: &'c Ctx,
    layout: Layout,
}

impl<'de> DeserializeSeed<'de> for TopSeed<'_> {
    type Value = Top;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Top, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_> {
    type Value = Top;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a lock file (a map)")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Top, A::Error> {
        let mut top = Top::default();
        if self.layout == Layout::Berry {
            read_entries(self.ctx, 0, None, Some("__metadata"), a, &mut top.entries)?;
            return Ok(top);
        }
        let skip = Skip::new(self.ctx, 0).deeper()?;
        let scalar = Scalar {
            ctx: self.ctx,
            depth: 1,
            strings_only: false,
        };
        let entries = |v1_level| Entries {
            ctx: self.ctx,
            depth: 1,
            v1_level,
        };
        while let Some(key) = a.next_key_seed(scalar)? {
            match key.as_deref() {
                Some("lockfileVersion") => top.lockfile_version = a.next_value_seed(scalar)?,
                Some("packages") => top.packages = Some(a.next_value_seed(entries(None))?),
                Some("dependencies") if self.layout == Layout::Npm => {
                    top.dependencies = Some(a.next_value_seed(entries(Some(1)))?);
                }
                _ => a.next_value_seed(skip)?,
            }
        }
        Ok(top)
    }
}

fn read_json(bytes: &[u8], layout: Layout) -> Option<Top> {
    let ctx = Ctx::new(bytes.len());
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let top = TopSeed { ctx: &ctx, layout }.deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(top)
}

/// Reads a YAML lock file: only within [`yaml_subset_ok`], every document
/// of the stream (pnpm 10 writes its config dependencies' lock file as a
/// document before the main one).
fn read_yaml(bytes: &[u8], layout: Layout) -> Option<Top> {
    yaml_subset_ok(std::str::from_utf8(bytes).ok()?).then_some(())?;
    parse_yaml(bytes, layout)
}

fn parse_yaml(bytes: &[u8], layout: Layout) -> Option<Top> {
    let ctx = Ctx::new(bytes.len());
    let mut top = Top::default();
    for doc in serde_yaml_ng::Deserializer::from_slice(bytes) {
        let next = TopSeed { ctx: &ctx, layout }.deserialize(doc).ok()?;
        top.lockfile_version = next.lockfile_version.or(top.lockfile_version);
        if let Some(p) = next.packages {
            top.packages.get_or_insert_with(Vec::new).extend(p);
        }
        top.entries.extend(next.entries);
    }
    Some(top)
}

// ---------------------------------------------------------------------------
// The YAML subset read.
//
// libyaml (under serde_yaml_ng) rescans its whole stack of flow collections
// for every token, so `[[[[…` takes time quadratic in its depth (200 KB of
// `[` take seconds, a few MB hours), long before serde_yaml_ng's own limit
// of 128 levels is reached. So a YAML lock file is first checked, in linear
// time, to be in the plain subset pnpm and yarn write: every line a comment,
// a document marker, or `- `/`? `/`: ` indicators, then a key and a value,
// where a value is a plain scalar, a quoted scalar or a flow collection
// that ends on its line (at most MAX_FLOW_DEPTH deep), or a block scalar
// (`|-` and the like: pnpm writes multi-line `deprecated` messages so),
// whose content lines are skipped. Not in it: anchors, aliases, tags,
// directives, plain or quoted scalars and flow collections spanning lines,
// tab indentation, and line breaks other than LF and CRLF. Lines are split
// the way libyaml tokenizes them (its rules for plain and quoted scalars,
// comments, flow indicators, and where a block scalar's content ends), so
// that libyaml cannot be inside a flow collection where this check is not.

/// Deepest flow collection (`{a: [b]}` is 2) in a YAML lock file.
const MAX_FLOW_DEPTH: usize = 16;

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// A blank or the end of the line at `i`.
fn blankz(l: &[u8], i: usize) -> bool {
    l.get(i).is_none_or(|&b| is_blank(b))
}

fn skip_blanks(l: &[u8], mut i: usize) -> usize {
    while l.get(i).is_some_and(|&b| is_blank(b)) {
        i += 1;
    }
    i
}

/// Nothing but blanks and a comment from `i` on.
fn rest_empty(l: &[u8], i: usize) -> bool {
    l.get(skip_blanks(l, i)).is_none_or(|&b| b == b'#')
}

/// The end of the quoted scalar opening at `l[i]`, if it closes on the line.
fn quoted_end(l: &[u8], i: usize) -> Option<usize> {
    let quote = l[i];
    let mut j = i + 1;
    while j < l.len() {
        match (quote, l[j]) {
            (b'\'', b'\'') if l.get(j + 1) == Some(&b'\'') => j += 1,
            (b'"', b'\\') => j += 1,
            (q, b) if q == b => return Some(j + 1),
            _ => {}
        }
        j += 1;
    }
    None
}

/// The end of the flow collection opening at `l[i]`, if it closes on the
/// line within [`MAX_FLOW_DEPTH`] and holds nothing outside the subset.
fn flow_end(l: &[u8], mut i: usize) -> Option<usize> {
    let mut depth = 0usize;
    loop {
        i = skip_blanks(l, i);
        match *l.get(i)? {
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_FLOW_DEPTH {
                    return None;
                }
                i += 1;
            }
            b']' | b'}' => {
                depth -= 1;
                i += 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            b',' | b'?' | b':' => i += 1,
            b'\'' | b'"' => i = quoted_end(l, i)?,
            b'-' if blankz(l, i + 1) => return None,
            b'#' | b'*' | b'&' | b'!' | b'|' | b'>' | b'%' | b'@' | b'`' => return None,
            // A plain scalar: up to a flow indicator or `: ` (libyaml
            // refuses `:` before a flow indicator), possibly with blanks
            // inside; a comment or the line's end would leave the
            // collection open.
            _ => loop {
                while let Some(&b) = l.get(i) {
                    if is_blank(b) || matches!(b, b',' | b'[' | b']' | b'{' | b'}') {
                        break;
                    }
                    if b == b':' {
                        match l.get(i + 1) {
                            None => break,
                            Some(&n) if is_blank(n) => break,
                            Some(b',' | b'?' | b'[' | b']' | b'{' | b'}') => return None,
                            _ => {}
                        }
                    }
                    i += 1;
                }
                if !is_blank(*l.get(i)?) {
                    break;
                }
                i = skip_blanks(l, i);
                if l.get(i).is_none_or(|&b| b == b'#') {
                    return None;
                }
            },
        }
    }
}

/// How a block line ends, for the lines after it.
#[derive(Debug, PartialEq, Eq)]
enum LineEnd {
    /// Nothing carries over.
    Done,
    /// A plain scalar, which libyaml would continue onto a following line
    /// indented deeper than this column (its key's, `-`'s, `?`'s or `:`'s).
    Plain(usize),
    /// A block scalar header (`|`, `>-`, `|2`…): its content follows.
    Block(BlockScalar),
}

/// The indentation of a block scalar's content, as libyaml works it out.
#[derive(Debug, PartialEq, Eq)]
enum BlockScalar {
    /// Given by an indentation indicator: content lines are indented at
    /// least this much.
    Known(usize),
    /// To be found from the first non-empty line: the deepest indentation
    /// of it and the empty lines before it (`max`), at least one more than
    /// the column of the key, `-`, `?` or `:` (`parent`).
    Auto { parent: usize, max: usize },
}

/// One node of a block line at `l[i]` (a key with its value when
/// `key_allowed`; `parent` is the column of the key, `-`, `?` or `:` it is
/// the value of): how it ends the line, or `None` when it is outside the
/// subset.
fn block_node(l: &[u8], mut i: usize, key_allowed: bool, parent: Option<usize>) -> Option<LineEnd> {
    let start = i;
    let key_end = match l[i] {
        b'[' | b'{' => return rest_empty(l, flow_end(l, i)?).then_some(LineEnd::Done),
        b'\'' | b'"' => {
            let e = skip_blanks(l, quoted_end(l, i)?);
            if rest_empty(l, e) {
                return Some(LineEnd::Done);
            }
            (l[e] == b':' && blankz(l, e + 1)).then_some(e)?
        }
        // A block scalar header: `|` or `>`, a chomping indicator and an
        // indentation indicator (1-9) in either order, then only a comment.
        b'|' | b'>' => {
            let parent = parent?;
            let (mut j, mut chomp, mut digit) = (i + 1, false, None);
            while let Some(&b) = l.get(j) {
                match b {
                    b'+' | b'-' if !chomp => chomp = true,
                    b'1'..=b'9' if digit.is_none() => digit = Some(usize::from(b - b'0')),
                    _ => break,
                }
                j += 1;
            }
            if !blankz(l, j) || !rest_empty(l, j) {
                return None;
            }
            return Some(LineEnd::Block(match digit {
                Some(d) => BlockScalar::Known(parent + d),
                None => BlockScalar::Auto { parent, max: 0 },
            }));
        }
        b'-' | b'?' | b':' if blankz(l, i + 1) => return None,
        b',' | b']' | b'}' | b'#' | b'*' | b'&' | b'!' | b'%' | b'@' | b'`' => return None,
        // A plain scalar: up to `: `, ` #` or the line's end.
        _ => loop {
            while l
                .get(i)
                .is_some_and(|&b| !(is_blank(b) || b == b':' && blankz(l, i + 1)))
            {
                i += 1;
            }
            match l.get(i) {
                None => return parent.map(LineEnd::Plain),
                Some(b':') => break i,
                Some(_) => {
                    i = skip_blanks(l, i);
                    match l.get(i) {
                        None => return parent.map(LineEnd::Plain),
                        Some(b'#') => return parent.map(|_| LineEnd::Done),
                        Some(_) => {}
                    }
                }
            }
        },
    };
    if !key_allowed {
        return None;
    }
    let value = skip_blanks(l, key_end + 1);
    if rest_empty(l, value) {
        return Some(LineEnd::Done);
    }
    block_node(l, value, false, Some(start))
}

/// Is `text` within the YAML subset described above?
fn yaml_subset_ok(text: &str) -> bool {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.contains(['\0', '\u{85}', '\u{2028}', '\u{2029}', '\u{feff}'])
        || text
            .split('\r')
            .skip(1)
            .any(|after| !after.starts_with('\n'))
    {
        return false;
    }
    let mut carried = LineEnd::Done;
    for line in text.split('\n') {
        let l = line.strip_suffix('\r').unwrap_or(line).as_bytes();
        let mut i = l.iter().take_while(|&&b| b == b' ').count();
        let blank = l[i..].iter().all(|&b| is_blank(b));
        // A block scalar's content: libyaml reads it verbatim.
        if let LineEnd::Block(block) = &mut carried {
            let indent = match *block {
                BlockScalar::Known(indent) => indent,
                BlockScalar::Auto { parent, max } => {
                    if l.get(i) == Some(&b'\t') {
                        return false;
                    }
                    if i == l.len() {
                        *block = BlockScalar::Auto {
                            parent,
                            max: max.max(i),
                        };
                        continue;
                    }
                    let indent = max.max(i).max(parent + 1);
                    *block = BlockScalar::Known(indent);
                    indent
                }
            };
            if i >= indent || i == l.len() {
                continue;
            }
            if l[i] == b'\t' {
                return false;
            }
            carried = LineEnd::Done;
        }
        if blank {
            continue;
        }
        if l[i] == b'\t' {
            return false;
        }
        if l[i] == b'#'
            || (i == 0 && (l.starts_with(b"---") || l.starts_with(b"...")) && blankz(l, 3))
        {
            if l[i] != b'#' && !rest_empty(l, 3) {
                return false;
            }
            carried = LineEnd::Done;
            continue;
        }
        if i == 0 && l[0] == b'%' || matches!(carried, LineEnd::Plain(column) if i > column) {
            return false;
        }
        // `- `, `? ` and `: ` indicators, then a node.
        let mut parent = None;
        let mut key_allowed = true;
        while key_allowed && matches!(l[i], b'-' | b'?' | b':') && blankz(l, i + 1) {
            parent = Some(i);
            key_allowed = l[i] == b'-';
            i = skip_blanks(l, i + 1);
            if rest_empty(l, i) {
                break;
            }
        }
        carried = if rest_empty(l, i) {
            LineEnd::Done
        } else {
            match block_node(l, i, key_allowed, parent) {
                Some(end) => end,
                None => return false,
            }
        };
    }
    true
}

// ---------------------------------------------------------------------------
// npm

fn npm(bytes: &[u8]) -> Option<Pins> {
    let top = read_json(bytes, Layout::Npm)?;
    let mut out = Pins::new();
    if let Some(packages) = &top.packages {
        for (key, f) in packages {
            npm_package(&mut out, key, f);
        }
    } else if let Some(deps) = &top.dependencies {
        // Iterative; the reader already stopped at V1_MAX_DEPTH levels.
        let mut stack: Vec<&[(String, Fields)]> = vec![deps];
        while let Some(level) = stack.pop() {
            for (name, f) in level {
                npm_v1_dependency(&mut out, name, f);
                stack.push(&f.children);
            }
        }
    }
    Some(out)
}

/// A lockfileVersion 2/3 `packages` entry.
fn npm_package(out: &mut Pins, key: &str, f: &Fields) {
    // The root ("") and workspace folders ("packages/app") are not under
    // node_modules/; links point elsewhere (and the target, if it is a
    // workspace folder, is left out for the first reason).
    let Some(at) = key.rfind("node_modules/") else {
        return;
    };
    if f.link || (at > 0 && !key[..at].ends_with('/')) {
        return;
    }
    let installed_as = &key[at + "node_modules/".len()..];
    let well_formed = match installed_as.split_once('/') {
        None => !installed_as.starts_with('@'),
        Some((scope, name)) => scope.starts_with('@') && !name.contains('/'),
    };
    if !well_formed || f.resolved.as_deref().is_some_and(|r| !registry_tarball(r)) {
        return;
    }
    let name = f.name.as_deref().unwrap_or(installed_as);
    if let Some(version) = &f.version {
        pin(out, name, version);
    }
}

/// A lockfileVersion 1 `dependencies` entry: `version` is a version, an
/// alias (`npm:bar@1.0.0`) or, for anything not from a registry, a URL or
/// `file:` path.
fn npm_v1_dependency(out: &mut Pins, name: &str, f: &Fields) {
    let Some(version) = f.version.as_deref() else {
        return;
    };
    if f.resolved.as_deref().is_some_and(|r| !registry_tarball(r)) {
        return;
    }
    match version.strip_prefix("npm:") {
        Some(alias) => {
            if let Some((real, v)) = split_name(alias) {
                pin(out, real, v);
            }
        }
        None => pin(out, name, version),
    }
}

// ---------------------------------------------------------------------------
// yarn

/// Does the yarn.lock have berry's `__metadata:` block?
fn is_berry(bytes: &[u8]) -> bool {
    bytes
        .split(|&b| b == b'\n')
        .any(|l| l.strip_suffix(b"\r").unwrap_or(l) == b"__metadata:")
}

/// Removes JSON-style double quotes (yarn v1 writes values with
/// `JSON.stringify` when they need quoting).
fn unquote(s: &str) -> Option<String> {
    let s = s.trim();
    if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') {
        if s.contains('\\') {
            serde_json::from_str(s).ok()
        } else {
            Some(s[1..s.len() - 1].to_string())
        }
    } else {
        Some(s.to_string())
    }
}

/// The comma-separated, possibly quoted, specs of a yarn v1 block header
/// (`"@babel/code-frame@^7.0.0", "@babel/code-frame@^7.10.4"`).
fn header_specs(header: &str) -> Vec<String> {
    let mut specs = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in header.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                specs.extend(unquote(&header[start..i]));
                start = i + 1;
            }
            _ => {}
        }
    }
    specs.extend(unquote(&header[start..]));
    specs.retain(|s| !s.is_empty());
    specs
}

/// A yarn v1 range that names a registry release: not a URL, path, git or
/// GitHub spec (`file:`, `link:`, `https://…`, `user/repo`).
fn registry_range(range: &str) -> bool {
    !range.contains([':', '/'])
}

#[derive(Default)]
struct V1Block {
    specs: Vec<String>,
    version: Option<String>,
    resolved: Option<String>,
}

impl V1Block {
    fn pin(&self, out: &mut Pins) {
        let mut name = None;
        for spec in &self.specs {
            let Some((n, range)) = split_name(spec) else {
                return;
            };
            let (real, range) = match range.strip_prefix("npm:") {
                Some(alias) => split_name(alias).unwrap_or((n, alias)),
                None => (n, range),
            };
            if !registry_range(range) {
                return;
            }
            name.get_or_insert(real);
        }
        if self
            .resolved
            .as_deref()
            .is_some_and(|r| !registry_tarball(r))
        {
            return;
        }
        if let (Some(name), Some(version)) = (name, &self.version) {
            pin(out, name, version);
        }
    }
}

/// yarn v1: blocks of a header line (`lodash@^4.17.20, lodash@^4.17.21:`)
/// and indented `key value` lines; only the first indentation level's
/// `version` and `resolved` are read. A non-indented line that is not a
/// header or a comment makes the file malformed.
fn yarn_v1(bytes: &[u8]) -> Option<Pins> {
    let text = std::str::from_utf8(bytes).ok()?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Pins::new();
    let mut block: Option<V1Block> = None;
    let mut field_indent = None;
    let mut blocks = 0usize;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        if indent == 0 {
            if let Some(b) = block.take() {
                b.pin(&mut out);
            }
            let header = line.trim_end().strip_suffix(':')?;
            blocks += 1;
            if blocks > MAX_LOCK_ENTRIES {
                return Some(out);
            }
            block = Some(V1Block {
                specs: header_specs(header),
                ..V1Block::default()
            });
            field_indent = None;
            continue;
        }
        let b = block.as_mut()?;
        if *field_indent.get_or_insert(indent) != indent {
            continue;
        }
        let (key, value) = trimmed.split_once([' ', '\t']).unwrap_or((trimmed, ""));
        let key = key.strip_suffix(':').unwrap_or(key);
        match key {
            "version" => b.version = unquote(value),
            "resolved" => b.resolved = unquote(value),
            _ => {}
        }
    }
    if let Some(b) = block {
        b.pin(&mut out);
    }
    Some(out)
}

/// Decodes `%XX` escapes (berry URL-encodes the locator a patch applies to).
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A berry locator (`lodash@npm:4.17.21`,
/// `resolve@patch:resolve@npm%3A1.22.8#optional!builtin<compat/resolve>::version=1.22.8&hash=c3c19d`)
/// as the registry package it pins.
fn berry_locator(locator: &str, patch_depth: usize) -> Option<(String, String)> {
    let (name, reference) = split_name(locator)?;
    // `::` starts the locator's parameters (`::__archiveUrl=…`, `::locator=…`).
    let reference = reference.split("::").next()?;
    if let Some(version) = reference.strip_prefix("npm:") {
        return Some(match split_name(version) {
            Some((real, v)) => (real.to_string(), v.to_string()),
            None => (name.to_string(), version.to_string()),
        });
    }
    let patched = reference.strip_prefix("patch:")?;
    if patch_depth >= 2 {
        return None;
    }
    // `patch:SOURCE#PATCH`, SOURCE URL-encoded (its own `#` is `%23`).
    let source = percent_decode(patched.split('#').next()?)?;
    berry_locator(&source, patch_depth + 1)
}

/// The first descriptor of a berry key (`lodash@npm:^4.17.20, …`) with the
/// entry's `version`, when its range is an npm one (`npm:` or, in old files,
/// no protocol).
fn berry_descriptor(key: &str, version: Option<&str>) -> Option<(String, String)> {
    let (name, range) = split_name(key.split(',').next()?.trim())?;
    let (name, range) = match range.strip_prefix("npm:") {
        Some(r) => split_name(r).unwrap_or((name, r)),
        None => (name, range),
    };
    registry_range(range).then_some((name.to_string(), version?.to_string()))
}

/// yarn berry: every entry's `resolution`, or, when an entry has none, its
/// first `npm:` descriptor and its `version`.
fn berry(bytes: &[u8]) -> Option<Pins> {
    let top = read_yaml(bytes, Layout::Berry)?;
    let mut out = Pins::new();
    for (key, f) in &top.entries {
        let found = match &f.resolution {
            Some(resolution) => berry_locator(resolution, 0),
            None => berry_descriptor(key, f.version.as_deref()),
        };
        if let Some((name, version)) = found {
            pin(&mut out, &name, &version);
        }
    }
    Some(out)
}

// ---------------------------------------------------------------------------
// pnpm

fn pnpm(bytes: &[u8]) -> Option<Pins> {
    let top = read_yaml(bytes, Layout::Pnpm)?;
    let major: u32 = top
        .lockfile_version
        .as_deref()?
        .trim()
        .split('.')
        .next()?
        .parse()
        .ok()?;
    let mut out = Pins::new();
    for (key, _) in top.packages.iter().flatten() {
        let found = if major < 6 {
            pnpm_v5_key(key)
        } else {
            pnpm_key(key, major < 9)
        };
        if let Some((name, version)) = found {
            pin(&mut out, name, version);
        }
    }
    Some(out)
}

/// Drops a peer suffix: `_…` (5.x, and hashed ones) or `(…)` (6.0+). Semver
/// versions have neither character.
fn strip_peers(version: &str) -> &str {
    version.split(['_', '(']).next().unwrap_or(version)
}

/// 5.x and older: `/lodash/4.17.21`, `/@babel/core/7.0.0_@babel+x@7.0.0`.
/// Keys not starting with `/` (`github.com/…`, `file:…`, tarball hosts)
/// are not registry packages.
fn pnpm_v5_key(key: &str) -> Option<(&str, &str)> {
    let path = key.strip_prefix('/')?;
    let split = if path.starts_with('@') {
        let scope_end = path.find('/')?;
        scope_end + 1 + path[scope_end + 1..].find('/')?
    } else {
        path.find('/')?
    };
    let (name, rest) = (&path[..split], &path[split + 1..]);
    let version = strip_peers(rest);
    (!version.contains('/')).then_some((name, version))
}

/// 6.0–8.x (`/lodash@4.17.21`, `/@babel/core@7.0.0(@babel/x@7.0.0)`; a
/// leading `/` is required) and 9.0 (`lodash@4.17.21`).
fn pnpm_key(key: &str, slash_required: bool) -> Option<(&str, &str)> {
    let path = match key.strip_prefix('/') {
        Some(p) => p,
        None if slash_required => return None,
        None => key,
    };
    let path = path.split('(').next()?;
    let (name, version) = split_name(path)?;
    Some((name, strip_peers(version)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pins(kind: LockKind, text: &str) -> Vec<(String, String)> {
        parse_node_lockfile(kind, text.as_bytes())
    }

    fn expect(list: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = list
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn lock_file_paths() {
        use LockKind::*;
        for (path, kind) in [
            ("srv/app/package-lock.json", Some(Npm)),
            ("package-lock.json", Some(Npm)),
            ("/srv/app/npm-shrinkwrap.json", Some(Npm)),
            ("srv/app/yarn.lock", Some(Yarn)),
            ("./srv/app/pnpm-lock.yaml", Some(Pnpm)),
            ("srv/app/node_modules/.package-lock.json", Some(Npm)),
            ("node_modules/.package-lock.json", Some(Npm)),
            ("usr/local/lib/node_modules/.package-lock.json", Some(Npm)),
            // A dependency's own lock files: its development tree.
            ("srv/app/node_modules/foo/package-lock.json", None),
            ("srv/app/node_modules/foo/npm-shrinkwrap.json", None),
            ("srv/app/node_modules/@s/foo/yarn.lock", None),
            ("srv/app/node_modules/foo/pnpm-lock.yaml", None),
            (
                "srv/app/node_modules/foo/node_modules/.package-lock.json",
                None,
            ),
            // Only in node_modules, and only that name.
            ("srv/app/.package-lock.json", None),
            ("srv/app/node_modules/.package-lock.json.bak", None),
            ("srv/app/package-lock.json.orig", None),
            ("srv/app/my-yarn.lock", None),
            ("srv/app/pnpm-lock.yml", None),
            ("srv/app/node_modules", None),
            ("srv/app/package-lock.json/", Some(Npm)),
            ("srv/node_modules_old/package-lock.json", Some(Npm)),
            ("", None),
            ("/", None),
        ] {
            assert_eq!(node_lockfile_kind(path), kind, "{path}");
        }
    }

    #[test]
    fn field_check_is_package_json_s() {
        assert_eq!(valid_npm_field(" lodash "), Some("lodash"));
        assert_eq!(valid_npm_field(""), None);
        assert_eq!(valid_npm_field("a b"), None);
        assert_eq!(valid_npm_field("a\u{7}"), None);
        assert_eq!(valid_npm_field(&"x".repeat(214)).map(str::len), Some(214));
        assert_eq!(valid_npm_field(&"x".repeat(215)), None);
        for s in [
            "lodash",
            "a b",
            "",
            &"x".repeat(215),
            "a\tb",
            "@babel/parser",
        ] {
            let doc = format!(r#"{{"name":"{s}","version":"{s}"}}"#);
            assert_eq!(
                crate::parse_package_json(doc.as_bytes()).is_some(),
                valid_npm_field(s).is_some(),
                "{s}"
            );
        }
    }

    const NPM_V1: &str = r#"{
  "name": "app",
  "version": "1.0.0",
  "lockfileVersion": 1,
  "requires": true,
  "dependencies": {
    "@babel/parser": {
      "version": "7.0.0",
      "resolved": "https://registry.npmjs.org/@babel/parser/-/parser-7.0.0.tgz",
      "integrity": "sha512-SmjnXCuPAlai75AFtzv+KCBcJ3sDDWbIn+WytKw1k+wAtEy6phqI2RqKh/zAnfHA5Il2o8pxNDvVDXDYQ4D6w==",
      "dev": true
    },
    "debug": {
      "version": "2.6.9",
      "resolved": "https://registry.npmjs.org/debug/-/debug-2.6.9.tgz",
      "integrity": "sha512-bC7ElrdJaJnPbAP+1EotYvqZsb3ecl5wi6Bfi6BJTUcNowp6cvspg0jXznRTKDjm/E7AdgFBVeAPVMNcKGsHMA==",
      "requires": { "ms": "2.0.0" },
      "dependencies": {
        "ms": {
          "version": "2.0.0",
          "resolved": "https://registry.npmjs.org/ms/-/ms-2.0.0.tgz",
          "integrity": "sha1-VgiurfwAvmwpAd9fmGF4jeDVl8g="
        }
      }
    },
    "fsevents": {
      "version": "1.2.13",
      "resolved": "https://registry.npmjs.org/fsevents/-/fsevents-1.2.13.tgz",
      "dev": true,
      "optional": true,
      "requires": { "abbrev": "1.1.1" },
      "dependencies": {
        "abbrev": { "version": "1.1.1", "bundled": true, "dev": true, "optional": true }
      }
    },
    "lodash-legacy": {
      "version": "npm:lodash@4.17.4",
      "resolved": "https://registry.npmjs.org/lodash/-/lodash-4.17.4.tgz",
      "integrity": "sha1-eCA6TRwyiuHYbcpkYONptX9AVa4="
    },
    "babel-alias": {
      "version": "npm:@babel/core@7.0.0",
      "resolved": "https://registry.npmjs.org/@babel/core/-/core-7.0.0.tgz"
    },
    "ms": { "version": "2.1.3", "resolved": "https://npm.corp.example/repository/npm/ms/-/ms-2.1.3.tgz" },
    "mylib": { "version": "file:../mylib" },
    "packed": { "version": "file:vendor/packed-1.0.0.tgz", "integrity": "sha512-abc" },
    "gitdep": {
      "version": "git+https://github.com/user/gitdep.git#0123456789abcdef0123456789abcdef01234567",
      "from": "git+https://github.com/user/gitdep.git"
    },
    "shorthand": { "version": "github:user/shorthand#0123456", "from": "github:user/shorthand" },
    "tarball": { "version": "https://example.com/tarball-1.0.0.tgz", "integrity": "sha512-abc" },
    "odd": { "version": "1.0.0", "resolved": "git+ssh://git@github.com/user/odd.git#0123456" },
    "noversion": { "resolved": "https://registry.npmjs.org/noversion/-/noversion-1.0.0.tgz" },
    "badtype": { "version": 7 },
    "badentry": "1.0.0"
  }
}"#;

    #[test]
    fn npm_v1_tree() {
        assert_eq!(
            pins(LockKind::Npm, NPM_V1),
            expect(&[
                ("@babel/core", "7.0.0"),
                ("@babel/parser", "7.0.0"),
                ("abbrev", "1.1.1"),
                ("debug", "2.6.9"),
                ("fsevents", "1.2.13"),
                ("lodash", "4.17.4"),
                ("ms", "2.0.0"),
                ("ms", "2.1.3"),
            ])
        );
    }

    const NPM_V3: &str = r#"{
  "name": "app",
  "version": "1.0.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {
      "name": "app",
      "version": "1.0.0",
      "workspaces": ["packages/*"],
      "dependencies": { "express": "^4.17.1", "old-lodash": "npm:lodash@4.17.4" }
    },
    "node_modules/express": {
      "version": "4.17.1",
      "resolved": "https://registry.npmjs.org/express/-/express-4.17.1.tgz",
      "integrity": "sha512-mHJ9O79RqluphRrcw2X/GTh3k9tVv8YcoyY4Kkh4WDMUYKRZUq0h1o0w2rrrxBqM7VoeUVqgb27xlEMXTnYt4g==",
      "dependencies": { "debug": "2.6.9" },
      "engines": { "node": ">= 0.10.0" }
    },
    "node_modules/debug": {
      "version": "2.6.9",
      "resolved": "https://registry.npmjs.org/debug/-/debug-2.6.9.tgz",
      "dependencies": { "ms": "2.0.0" }
    },
    "node_modules/debug/node_modules/ms": {
      "version": "2.0.0",
      "resolved": "https://registry.npmjs.org/ms/-/ms-2.0.0.tgz"
    },
    "node_modules/ms": { "version": "2.1.3", "resolved": "https://registry.npmjs.org/ms/-/ms-2.1.3.tgz", "dev": true },
    "node_modules/express/node_modules/@babel/parser": {
      "version": "7.0.0",
      "resolved": "https://registry.yarnpkg.com/@babel/parser/-/parser-7.0.0.tgz",
      "bin": { "parser": "bin/babel-parser.js" }
    },
    "node_modules/old-lodash": {
      "name": "lodash",
      "version": "4.17.4",
      "resolved": "https://registry.npmjs.org/lodash/-/lodash-4.17.4.tgz"
    },
    "node_modules/fsevents": { "version": "2.3.3", "optional": true, "os": ["darwin"] },
    "node_modules/fsevents/node_modules/nan": { "version": "2.17.0", "inBundle": true, "optional": true },
    "node_modules/@acme/widgets": {
      "version": "1.2.3",
      "resolved": "https://npm.pkg.github.com/download/@acme/widgets/1.2.3/0123456789abcdef"
    },
    "node_modules/ws-a": { "resolved": "packages/ws-a", "link": true },
    "packages/ws-a": { "name": "ws-a", "version": "0.1.0", "dependencies": { "lodash": "^4" } },
    "packages/ws-a/node_modules/lodash": {
      "version": "4.17.21",
      "resolved": "https://registry.npmjs.org/lodash/-/lodash-4.17.21.tgz"
    },
    "node_modules/local": { "resolved": "file:../local", "link": true },
    "../local": { "version": "9.9.9" },
    "node_modules/packed": { "version": "1.0.0", "resolved": "file:vendor/packed-1.0.0.tgz" },
    "node_modules/gitdep": {
      "version": "1.0.0",
      "resolved": "git+ssh://git@github.com/user/gitdep.git#0123456789abcdef0123456789abcdef01234567"
    },
    "node_modules/tarball": { "version": "1.0.0", "resolved": "https://example.com/tarball-1.0.0.tgz" },
    "node_modules/@scopeonly": { "version": "1.0.0" },
    "node_modules/a/b": { "version": "1.0.0" },
    "node_modules/badtype": { "version": ["1.0.0"] },
    "node_modules/notanobject": "1.0.0",
    "node_modules/linkstring": { "version": "1.0.0", "link": "true" }
  }
}"#;

    #[test]
    fn npm_v3_packages() {
        assert_eq!(
            pins(LockKind::Npm, NPM_V3),
            expect(&[
                ("@acme/widgets", "1.2.3"),
                ("@babel/parser", "7.0.0"),
                ("debug", "2.6.9"),
                ("express", "4.17.1"),
                ("fsevents", "2.3.3"),
                ("lodash", "4.17.21"),
                ("lodash", "4.17.4"),
                ("ms", "2.0.0"),
                ("ms", "2.1.3"),
                ("nan", "2.17.0"),
            ])
        );
    }

    #[test]
    fn npm_v2_reads_packages_only_and_hidden_lock_file_alike() {
        let v2 = r#"{
  "name": "app",
  "lockfileVersion": 2,
  "packages": {
    "": { "name": "app", "dependencies": { "lodash": "^4.17.21" } },
    "node_modules/lodash": { "version": "4.17.21", "resolved": "https://registry.npmjs.org/lodash/-/lodash-4.17.21.tgz" }
  },
  "dependencies": {
    "lodash": { "version": "4.17.21" },
    "only-in-v1-section": { "version": "1.0.0" }
  }
}"#;
        assert_eq!(pins(LockKind::Npm, v2), expect(&[("lodash", "4.17.21")]));
        // The order of the sections does not matter.
        let v2_reordered = r#"{"dependencies": {"x": {"version": "1.0.0"}},
            "packages": {"node_modules/y": {"version": "2.0.0"}}, "lockfileVersion": 2}"#;
        assert_eq!(pins(LockKind::Npm, v2_reordered), expect(&[("y", "2.0.0")]));
        // The hidden lock file: `packages` without the root.
        let hidden = r#"{
  "name": "app",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "node_modules/@babel/parser": { "version": "7.0.0", "resolved": "https://registry.npmjs.org/@babel/parser/-/parser-7.0.0.tgz" },
    "node_modules/minimist": { "version": "0.0.8", "resolved": "https://registry.npmjs.org/minimist/-/minimist-0.0.8.tgz" }
  }
}"#;
        assert_eq!(
            pins(LockKind::Npm, hidden),
            expect(&[("@babel/parser", "7.0.0"), ("minimist", "0.0.8")])
        );
        // An empty `packages` is authoritative, a missing one is not.
        assert!(
            pins(
                LockKind::Npm,
                r#"{"packages":{},"dependencies":{"x":{"version":"1.0.0"}}}"#
            )
            .is_empty()
        );
        assert_eq!(
            pins(
                LockKind::Npm,
                r#"{"dependencies":{"x":{"version":"1.0.0"}}}"#
            ),
            expect(&[("x", "1.0.0")])
        );
    }

    const YARN_V1: &str = r#"# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.
# yarn lockfile v1


"@babel/code-frame@^7.0.0", "@babel/code-frame@^7.10.4":
  version "7.12.13"
  resolved "https://registry.yarnpkg.com/@babel/code-frame/-/code-frame-7.12.13.tgz#dcfc826beef65e75c50e21d3837d7d95798dd658"
  integrity sha512-HV1Cm0Q3ZrpCR93tkWOYiuYIgLxZXZFVG2VgK+MBWjUqZTundupbfx2aXarXuw5Ko5aMcjtJgbSs4vUGBS5v6g==
  dependencies:
    "@babel/highlight" "^7.12.13"

"@babel/highlight@^7.12.13":
  version "7.13.10"
  resolved "https://registry.yarnpkg.com/@babel/highlight/-/highlight-7.13.10.tgz#a8b2a66148f5b27d666b15d81774347a731d52d1"
  dependencies:
    "@babel/helper-validator-identifier" "^7.12.11"
    chalk "^2.0.0"
    version "99.0.0"

lodash@^4.17.20, lodash@^4.17.21:
  version "4.17.21"
  resolved "https://registry.yarnpkg.com/lodash/-/lodash-4.17.21.tgz#679591c564c3bffaae8454cf0b3df370c3d6911c"
  integrity sha512-v2kDEe57lecTulaDIuNTPy3Ry4gLGJ6Z1O3vE1krgXZNrsQ+LFTGHVxVjcXPs17LhbZVGedAJv8XZ1tvj5FvSg==

lodash@4.17.4:
  version "4.17.4"
  resolved "https://registry.yarnpkg.com/lodash/-/lodash-4.17.4.tgz#78203a4d1c328ae1d86dca6460e369b57f4055ae"

"string-width-cjs@npm:string-width@^4.2.0":
  version "4.2.3"
  resolved "https://registry.yarnpkg.com/string-width/-/string-width-4.2.3.tgz#269c7117d27b05ad2e536830a8ec895ef9c6d010"

"my-react@npm:@preact/compat@^17.0.0":
  version "17.1.2"
  resolved "https://registry.yarnpkg.com/@preact/compat/-/compat-17.1.2.tgz"

"minimist@>= 0.0.8 < 1", minimist@latest:
  version "0.0.8"
  resolved "https://registry.yarnpkg.com/minimist/-/minimist-0.0.8.tgz#857fcabfc3397d2625b8228262e86aa7a011b05d"

"local@file:../local":
  version "1.0.0"

"vendored@file:./vendor/vendored-1.0.0.tgz":
  version "1.0.0"
  resolved "file:./vendor/vendored-1.0.0.tgz#abc"

"gitdep@git+https://github.com/user/gitdep.git":
  version "2.0.0"
  resolved "git+https://github.com/user/gitdep.git#0123456789abcdef0123456789abcdef01234567"

shorthand@user/shorthand:
  version "3.0.0"
  resolved "https://codeload.github.com/user/shorthand/tar.gz/0123456789abcdef"

"tarball@https://example.com/tarball-1.0.0.tgz":
  version "1.0.0"
  resolved "https://example.com/tarball-1.0.0.tgz"

oddity@^1.0.0:
  version "1.0.0"
  resolved "https://example.com/oddity.tgz"

noversion@^1.0.0:
  resolved "https://registry.yarnpkg.com/noversion/-/noversion-1.0.0.tgz"
"#;

    #[test]
    fn yarn_v1() {
        let want = expect(&[
            ("@babel/code-frame", "7.12.13"),
            ("@babel/highlight", "7.13.10"),
            ("@preact/compat", "17.1.2"),
            ("lodash", "4.17.21"),
            ("lodash", "4.17.4"),
            ("minimist", "0.0.8"),
            ("string-width", "4.2.3"),
        ]);
        assert_eq!(pins(LockKind::Yarn, YARN_V1), want);
        // Windows line ends and a byte order mark.
        let crlf = format!("\u{feff}{}", YARN_V1.replace('\n', "\r\n"));
        assert_eq!(pins(LockKind::Yarn, &crlf), want);
        // Colon-style fields and tab-free four-space indentation.
        assert_eq!(
            pins(
                LockKind::Yarn,
                "a@^1:\n    version: \"1.0.1\"\n    dependencies:\n        b \"^2\"\n"
            ),
            expect(&[("a", "1.0.1")])
        );
        // A non-indented line that is not a header, or a field before any
        // header, makes it malformed.
        assert!(pins(LockKind::Yarn, &format!("{YARN_V1}\ngarbage\n")).is_empty());
        assert!(
            pins(
                LockKind::Yarn,
                "  version \"1.0.0\"\na@^1:\n  version \"1.0.0\"\n"
            )
            .is_empty()
        );
        assert!(pins(LockKind::Yarn, "").is_empty());
    }

    const BERRY: &str = r#"# This file is generated by running "yarn install" inside your project.
# Manual changes might be lost - proceed with caution!

__metadata:
  version: 8
  cacheKey: 10c0

"@babel/core@npm:^7.0.0, @babel/core@npm:^7.1.0":
  version: 7.22.0
  resolution: "@babel/core@npm:7.22.0"
  dependencies:
    debug: "npm:^4.1.0"
  checksum: 10c0/abc
  languageName: node
  linkType: hard

"lodash@npm:^4.17.21":
  version: 4.17.21
  resolution: "lodash@npm:4.17.21"
  checksum: 10c0/d8cbea072bb08655bb4c989da418994b073a608dffa608b09ac04b43a791b12aeae7cd7ad919aa4c925f33b48490b5cfe6c1f71d827956071dae2e7bb3a6b74c
  languageName: node
  linkType: hard

"string-width-cjs@npm:string-width@^4.2.0":
  version: 4.2.3
  resolution: "string-width@npm:4.2.3"
  languageName: node
  linkType: hard

"resolve@patch:resolve@npm%3A^1.22.0#optional!builtin<compat/resolve>":
  version: 1.22.8
  resolution: "resolve@patch:resolve@npm%3A1.22.8#optional!builtin<compat/resolve>::version=1.22.8&hash=c3c19d"
  languageName: node
  linkType: hard

"resolve@npm:^1.22.0":
  version: 1.22.8
  resolution: "resolve@npm:1.22.8"
  languageName: node
  linkType: hard

"typescript@patch:typescript@npm%3A~5.0.0#~builtin<compat/typescript>":
  version: 5.0.4
  resolution: "typescript@patch:typescript@npm%3A5.0.4#~builtin<compat/typescript>::version=5.0.4&hash=b5f058"
  languageName: node
  linkType: hard

? "very-long-descriptor@npm:^1.0.0"
:
  version: 1.0.1
  resolution: "very-long-descriptor@npm:1.0.1"
  languageName: node
  linkType: hard

"archived@npm:^2.0.0":
  version: 2.0.0
  resolution: "archived@npm:2.0.0::__archiveUrl=https%3A%2F%2Fnpm.corp.example%2Farchived-2.0.0.tgz"
  languageName: node
  linkType: hard

"my-app@workspace:.":
  version: 0.0.0-use.local
  resolution: "my-app@workspace:."
  languageName: unknown
  linkType: soft

"local-lib@file:../lib::locator=my-app%40workspace%3A.":
  version: 1.0.0
  resolution: "local-lib@file:../lib#../lib::hash=1a2b3c&locator=my-app%40workspace%3A."
  languageName: node
  linkType: hard

"patched-local@patch:local-lib@file%3A../lib#./my.patch::locator=my-app%40workspace%3A.":
  version: 1.0.0
  resolution: "patched-local@patch:local-lib@file%3A../lib#./my.patch::version=1.0.0&hash=abc"
  languageName: node
  linkType: hard

"mimic-response@github:sindresorhus/mimic-response#v3.1.0":
  version: 3.1.0
  resolution: "mimic-response@https://github.com/sindresorhus/mimic-response.git#commit=c781ec5"
  languageName: node
  linkType: hard

"portal-dep@portal:../portal::locator=my-app%40workspace%3A.":
  version: 0.0.0-use.local
  resolution: "portal-dep@portal:../portal::locator=my-app%40workspace%3A."
  languageName: node
  linkType: soft

"linked@link:../linked::locator=my-app%40workspace%3A.":
  version: 0.0.0-use.local
  resolution: "linked@link:../linked::locator=my-app%40workspace%3A."
  languageName: unknown
  linkType: soft

"no-resolution@npm:^3.0.0":
  version: 3.1.4

"old-style@^1.0.0":
  version: 1.0.9

"wrong-type@npm:^1.0.0":
  version: [1]
  resolution: {a: b}

"scalar-entry@npm:^1.0.0": 1.0.0
"#;

    #[test]
    fn yarn_berry() {
        assert_eq!(
            pins(LockKind::Yarn, BERRY),
            expect(&[
                ("@babel/core", "7.22.0"),
                ("archived", "2.0.0"),
                ("lodash", "4.17.21"),
                ("no-resolution", "3.1.4"),
                ("old-style", "1.0.9"),
                ("resolve", "1.22.8"),
                ("string-width", "4.2.3"),
                ("typescript", "5.0.4"),
                ("very-long-descriptor", "1.0.1"),
            ])
        );
        // Berry is YAML: a YAML error is a malformed file.
        assert!(pins(LockKind::Yarn, &format!("{BERRY}\n\"unterminated: [\n")).is_empty());
        assert_eq!(
            berry_locator("x@patch:x@patch%3Ax@npm%253A1.0.0%23a.patch#b.patch", 0),
            Some(("x".into(), "1.0.0".into()))
        );
        assert_eq!(
            berry_locator("x@patch:x@patch%3Ax@patch%253Ax@npm%25253A1.0.0#a#b#c", 0),
            None
        );
        assert_eq!(percent_decode("a%4"), Some("a%4".into()));
        assert_eq!(percent_decode("a%zz%40"), Some("a%zz@".into()));
        assert_eq!(percent_decode("%ff"), None);
    }

    const PNPM_V5: &str = r#"lockfileVersion: 5.4

specifiers:
  '@babel/core': ^7.0.0
  lodash: ^4.17.21

dependencies:
  '@babel/core': 7.12.3
  lodash: 4.17.21

packages:

  /@babel/core/7.12.3:
    resolution: {integrity: sha512-0qXcZYKZp3/6N2jKYVxZv0aNCsxTSVCiK72DTiTYZAu7sjg73W0/aynWjMbiGd87EQL4WyA8reiJVh92AVla9g==}
    engines: {node: '>=6.9.0'}
    dependencies:
      debug: 4.3.1
    dev: false

  /@babel/preset-env/7.12.1_@babel+core@7.12.3:
    resolution: {integrity: sha512-abc}
    peerDependencies:
      '@babel/core': ^7.0.0-0
    dev: true

  /react-dom/17.0.2_react@17.0.2:
    resolution: {integrity: sha512-abc}
    dev: false

  /react-redux/7.2.4_c57ddb6f6cd2ab3b8d1b9ae6cb3c6d17:
    resolution: {integrity: sha512-abc}
    dev: false

  /lodash/4.17.21:
    resolution: {integrity: sha512-v2kDEe57lecTulaDIuNTPy3Ry4gLGJ6Z1O3vE1krgXZNrsQ+LFTGHVxVjcXPs17LhbZVGedAJv8XZ1tvj5FvSg==}
    dev: false

  /debug/4.3.1:
    resolution: {integrity: sha512-abc, tarball: https://npm.corp.example/debug-4.3.1.tgz}

  github.com/user/gitdep/0123456789abcdef:
    resolution: {tarball: https://codeload.github.com/user/gitdep/tar.gz/0123456789abcdef}
    name: gitdep
    version: 1.0.0
    dev: false

  file:../local:
    resolution: {directory: ../local, type: directory}
    name: local
    version: 1.0.0

  registry.example.com/tarball/-/tarball-1.0.0.tgz:
    resolution: {tarball: https://registry.example.com/tarball/-/tarball-1.0.0.tgz}
    name: tarball
    version: 1.0.0

  /noversion:
    resolution: {integrity: sha512-abc}
"#;

    const PNPM_V6: &str = r#"lockfileVersion: '6.0'

settings:
  autoInstallPeers: true
  excludeLinksFromLockfile: false

dependencies:
  '@babel/core':
    specifier: ^7.0.0
    version: 7.12.3
  old-lodash:
    specifier: npm:lodash@4.17.4
    version: /lodash@4.17.4

packages:

  /@babel/core@7.12.3:
    resolution: {integrity: sha512-abc}
    engines: {node: '>=6.9.0'}
    dev: false

  /@babel/preset-env@7.12.1(@babel/core@7.12.3)(supports-color@8.1.1):
    resolution: {integrity: sha512-abc}
    peerDependencies:
      '@babel/core': ^7.0.0-0
    dev: true

  /lodash@4.17.4:
    resolution: {integrity: sha512-abc}
    dev: false

  /lodash_underscored@1.0.0_hash:
    resolution: {integrity: sha512-abc}

  lodash@4.17.21:
    resolution: {integrity: sha512-abc}

  github.com/user/gitdep/0123456789abcdef:
    resolution: {tarball: https://codeload.github.com/user/gitdep/tar.gz/0123456789abcdef}
    name: gitdep
    version: 1.0.0

  file:../local:
    resolution: {directory: ../local, type: directory}
    name: local
    version: 1.0.0
"#;

    const PNPM_V9: &str = r#"lockfileVersion: '9.0'

settings:
  autoInstallPeers: true
  excludeLinksFromLockfile: false

importers:

  .:
    dependencies:
      '@babel/core':
        specifier: ^7.0.0
        version: 7.24.0
      my-lodash:
        specifier: npm:lodash@4.17.21
        version: lodash@4.17.21
      ws-a:
        specifier: workspace:*
        version: link:packages/ws-a

  packages/ws-a: {}

packages:

  '@babel/core@7.24.0':
    resolution: {integrity: sha512-abc}
    engines: {node: '>=6.9.0'}

  '@babel/preset-env@7.24.0':
    resolution: {integrity: sha512-abc}
    peerDependencies:
      '@babel/core': ^7.0.0-0

  lodash@4.17.21:
    resolution: {integrity: sha512-abc}

  react-dom@18.2.0(react@18.2.0):
    resolution: {integrity: sha512-abc}

  gitdep@https://codeload.github.com/user/gitdep/tar.gz/0123456789abcdef:
    resolution: {tarball: https://codeload.github.com/user/gitdep/tar.gz/0123456789abcdef}
    version: 1.0.0

  local@file:../local:
    resolution: {directory: ../local, type: directory}
    version: 1.0.0

  tarball@https://example.com/tarball-1.0.0.tgz:
    resolution: {tarball: https://example.com/tarball-1.0.0.tgz}
    version: 1.0.0

snapshots:

  '@babel/core@7.24.0': {}

  '@babel/preset-env@7.24.0(@babel/core@7.24.0)':
    dependencies:
      '@babel/core': 7.24.0

  lodash@4.17.21: {}

  only-in-snapshots@1.0.0: {}
"#;

    #[test]
    fn pnpm_all_versions() {
        assert_eq!(
            pins(LockKind::Pnpm, PNPM_V5),
            expect(&[
                ("@babel/core", "7.12.3"),
                ("@babel/preset-env", "7.12.1"),
                ("debug", "4.3.1"),
                ("lodash", "4.17.21"),
                ("react-dom", "17.0.2"),
                ("react-redux", "7.2.4"),
            ])
        );
        assert_eq!(
            pins(LockKind::Pnpm, PNPM_V6),
            expect(&[
                ("@babel/core", "7.12.3"),
                ("@babel/preset-env", "7.12.1"),
                ("lodash", "4.17.4"),
                ("lodash_underscored", "1.0.0"),
            ])
        );
        assert_eq!(
            pins(LockKind::Pnpm, PNPM_V9),
            expect(&[
                ("@babel/core", "7.24.0"),
                ("@babel/preset-env", "7.24.0"),
                ("lodash", "4.17.21"),
                ("react-dom", "18.2.0"),
            ])
        );
        // Older 5.x files, and a number or a string for the version.
        let v51 = "lockfileVersion: 5.1\npackages:\n  /a/1.0.0:\n    dev: false\n";
        assert_eq!(pins(LockKind::Pnpm, v51), expect(&[("a", "1.0.0")]));
        let v7 = "lockfileVersion: '7.0'\npackages:\n  /a@1.0.0: {}\n  b@2.0.0: {}\n";
        assert_eq!(pins(LockKind::Pnpm, v7), expect(&[("a", "1.0.0")]));
        let v9_slash = "lockfileVersion: 9.0\npackages:\n  /a@1.0.0: {}\n  b@2.0.0: {}\n";
        assert_eq!(
            pins(LockKind::Pnpm, v9_slash),
            expect(&[("a", "1.0.0"), ("b", "2.0.0")])
        );
        // No or an unreadable lockfileVersion: not a pnpm lock file.
        assert!(pins(LockKind::Pnpm, "packages:\n  /a/1.0.0: {}\n").is_empty());
        assert!(
            pins(
                LockKind::Pnpm,
                "lockfileVersion: [5]\npackages:\n  /a/1.0.0: {}\n"
            )
            .is_empty()
        );
        assert!(
            pins(
                LockKind::Pnpm,
                "lockfileVersion: x\npackages:\n  /a/1.0.0: {}\n"
            )
            .is_empty()
        );
        // `packages` of the wrong type is no packages.
        assert!(
            pins(
                LockKind::Pnpm,
                "lockfileVersion: '9.0'\npackages: [a@1.0.0]\n"
            )
            .is_empty()
        );
    }

    #[test]
    fn pnpm_keys() {
        assert_eq!(pnpm_v5_key("/@s/n/1.0.0"), Some(("@s/n", "1.0.0")));
        assert_eq!(pnpm_v5_key("/@s/1.0.0"), None);
        assert_eq!(pnpm_v5_key("/n/1.0.0/extra"), None);
        assert_eq!(pnpm_v5_key("/n"), None);
        assert_eq!(pnpm_v5_key("n/1.0.0"), None);
        assert_eq!(pnpm_key("/@s/n@1.0.0(p@1)", true), Some(("@s/n", "1.0.0")));
        assert_eq!(
            pnpm_key("@s/n@1.0.0(p@1)(q@2)", false),
            Some(("@s/n", "1.0.0"))
        );
        assert_eq!(pnpm_key("@s/n@1.0.0", true), None);
        assert_eq!(pnpm_key("@", false), None);
        assert_eq!(pnpm_key("", false), None);
    }

    #[test]
    fn wrong_types_and_shapes() {
        use LockKind::*;
        for (kind, doc) in [
            (Npm, "[]"),
            (Npm, "\"packages\""),
            (Npm, "null"),
            (Npm, "{"),
            (Npm, ""),
            (
                Npm,
                r#"{"packages": {"node_modules/a": {"version": "1.0.0"}}} trailing"#,
            ),
            (Npm, r#"{"packages": [1, 2]}"#),
            (Npm, r#"{"packages": null}"#),
            (Npm, r#"{"dependencies": "x"}"#),
            (Yarn, "__metadata:\n  version: 8\n- a\n"),
            (Yarn, "__metadata:\n"),
            (Pnpm, "- lockfileVersion\n"),
            (
                Pnpm,
                "lockfileVersion: '9.0'\n---\nlockfileVersion: '9.0'\n",
            ),
            (Pnpm, ""),
            (Pnpm, "lockfileVersion: '9.0'\npackages: 7\n"),
        ] {
            assert!(
                parse_node_lockfile(kind, doc.as_bytes()).is_empty(),
                "{kind:?} {doc}"
            );
        }
        // Wrongly typed entries and fields drop only themselves.
        assert_eq!(
            pins(
                Npm,
                r#"{"packages": {"node_modules/a": 5, "node_modules/b": {"version": {"x": 1}},
                   "node_modules/c": {"version": "1.0.0", "resolved": 7, "name": null},
                   "node_modules/d": {"version": "1.0.0", "name": ["x"]}}}"#
            ),
            expect(&[("c", "1.0.0"), ("d", "1.0.0")])
        );
        // In YAML too; tags (`!foo`) are outside the subset read.
        assert_eq!(
            pins(
                Pnpm,
                "lockfileVersion: '9.0'\npackages:\n  a@1.0.0: [1]\n  b@1.0.0: {x: [1, {y: z}]}\n  c@1.0.0: x\n  ? [d]\n  : {}\n"
            ),
            expect(&[("b", "1.0.0")])
        );
        assert!(
            pins(
                Pnpm,
                "lockfileVersion: '9.0'\npackages:\n  a@1.0.0: !x {}\n  b@1.0.0: {}\n"
            )
            .is_empty()
        );
        // Numbers and booleans are not names or versions (as in package.json).
        assert!(
            pins(Npm, r#"{"packages": {"node_modules/a": {"version": 1}, "node_modules/b": {"version": true}}}"#)
                .is_empty()
        );
        assert!(
            pins(
                Yarn,
                "__metadata:\n  version: 8\n\"a@npm:1\":\n  version: 1.0\n"
            )
            .is_empty()
        );
    }

    #[test]
    fn not_utf8_gives_nothing() {
        for kind in [LockKind::Npm, LockKind::Yarn, LockKind::Pnpm] {
            let mut doc = b"lodash@^4:\n  version \"4.17.21\"\n".to_vec();
            doc.extend_from_slice(&[0xff, 0xfe, 0x80, b'\n']);
            assert!(parse_node_lockfile(kind, &doc).is_empty(), "{kind:?}");
            let mut json =
                br#"{"packages": {"node_modules/a": {"version": "1.0.0"}}, "x": ""#.to_vec();
            json.extend_from_slice(&[0xc3, 0x28, b'"', b'}']);
            assert!(parse_node_lockfile(kind, &json).is_empty(), "{kind:?}");
            let mut yaml =
                b"__metadata:\n  version: 8\n\"a@npm:1\":\n  resolution: \"a@npm:1.0.0\"\n"
                    .to_vec();
            yaml.extend_from_slice(&[0xed, 0xa0, 0x80, b'\n']);
            assert!(parse_node_lockfile(kind, &yaml).is_empty(), "{kind:?}");
        }
    }

    #[test]
    fn npm_v1_nesting_is_bounded() {
        // Levels nested `dependencies`, one package per level.
        let nest = |levels: usize| {
            let mut doc = String::new();
            for i in 0..levels {
                doc.push_str(&format!(
                    r#"{{"version": "1.0.{i}", "dependencies": {{"p{i}": "#
                ));
            }
            doc.push_str(r#"{"version": "9.9.9"}"#);
            doc.push_str(&"}}".repeat(levels));
            format!(r#"{{"lockfileVersion": 1, "dependencies": {{"top": {doc}}}}}"#)
        };
        let found = parse_node_lockfile(LockKind::Npm, nest(10).as_bytes());
        assert_eq!(found.len(), 11);
        // Deeper than V1_MAX_DEPTH: read down to it.
        let found = parse_node_lockfile(LockKind::Npm, nest(V1_MAX_DEPTH + 5).as_bytes());
        assert_eq!(found.len(), V1_MAX_DEPTH);
        assert!(found.contains(&("top".into(), "1.0.0".into())));
        assert!(!found.iter().any(|(_, v)| v == "9.9.9"));
        // Past serde_json's 128 levels: not a document it reads.
        assert!(parse_node_lockfile(LockKind::Npm, nest(100).as_bytes()).is_empty());
    }

    #[test]
    fn hostile_nesting_does_not_overflow() {
        for depth in [127, 129, 100_000] {
            let json = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            assert!(parse_node_lockfile(LockKind::Npm, json.as_bytes()).is_empty());
            let obj = format!(
                r#"{{"packages": {{"node_modules/a": {{"version": "1.0.0", "x": {}1{}}}}}}}"#,
                "{\"a\":".repeat(depth),
                "}".repeat(depth)
            );
            // Within serde_json's limit of 128 levels the deep field is walked.
            let found = parse_node_lockfile(LockKind::Npm, obj.as_bytes());
            assert_eq!(found.is_empty(), depth + 3 > 128, "{depth}");
        }
        // YAML block nesting: serde_yaml_ng's limit of 128 levels.
        for (levels, readable) in [(100, true), (200, false), (3000, false)] {
            let mut doc = String::from("lockfileVersion: '9.0'\npackages:\n  a@1.0.0:\n");
            for i in 0..levels {
                doc.push_str(&" ".repeat(2 * i + 4));
                doc.push_str("k:\n");
            }
            let found = parse_node_lockfile(LockKind::Pnpm, doc.as_bytes());
            assert_eq!(!found.is_empty(), readable, "{levels}");
        }
    }

    #[test]
    fn yaml_flow_nesting_is_refused_in_linear_time() {
        let flow = |depth: usize| {
            format!(
                "lockfileVersion: '9.0'\npackages:\n  a@1.0.0: {{x: {}{}}}\n  b@1.0.0: {{}}\n",
                "[".repeat(depth - 1),
                "]".repeat(depth - 1)
            )
        };
        assert_eq!(
            pins(LockKind::Pnpm, &flow(MAX_FLOW_DEPTH)),
            expect(&[("a", "1.0.0"), ("b", "1.0.0")])
        );
        assert!(pins(LockKind::Pnpm, &flow(MAX_FLOW_DEPTH + 1)).is_empty());
        // libyaml alone would take hours over these.
        let t = std::time::Instant::now();
        for doc in [
            format!("lockfileVersion: '9.0'\npackages: {}", "[".repeat(4 << 20)),
            format!(
                "lockfileVersion: '9.0'\npackages: {}",
                "[a, ".repeat(1 << 20)
            ),
            format!(
                "lockfileVersion: '9.0'\npackages:\n{}",
                "  - [\n".repeat(1 << 20)
            ),
            // A plain scalar continued onto a line that would parse
            // differently on its own (`'x` then a flow opening, for
            // libyaml): continuation lines are refused.
            format!(
                "lockfileVersion: '9.0'\npackages:\n  a@1.0.0:\n    resolution: x\n      'x: [': y\n{}",
                "      ', [[[[[[[ ': x\n".repeat(1 << 16)
            ),
        ] {
            assert!(pins(LockKind::Pnpm, &doc).is_empty());
        }
        assert!(t.elapsed().as_secs() < 10, "{:?}", t.elapsed());
    }

    #[test]
    fn yaml_subset() {
        for ok in [
            "",
            "# comment\n\n---\na: b\n...\n",
            "\u{feff}a: b\r\nc: 'd''e' # c\r\n",
            "a:\n  - b\n  - c: d\n    e: [f, 'g]', \"h\\\"]\", {i: j}]\n",
            "a: b[c, d'e\nf: x:y #z\n",
            "? \"k\"\n:\n  v: 1\n",
            "a: {integrity: sha512-x==, tarball: https://h/p.tgz?q=1&r=2}\n",
            "'@s/n@1.0.0(p@2)':\n    deprecated: Use your platform's atob() instead\n",
            "a: b\n# c\n    d: e\n",
            "a: b\n\nc: d\n",
            "- - a\n  - b\n- c\n",
            // Block scalars: their content is anything.
            "a: |\n  b\n",
            "a: >-\n  b: [[[ &x *y !z '\n\n   \t\n  c\nd: e\n",
            "  a:\n    deprecated: |-\n      Deprecated due to a bug, see\n        https://x/issues/1. Newer version available.\n    resolution: {integrity: sha512-x}\n",
            "a: |2-\n   b\n  c\nd: e\n",
            "- |+ # c\n  b\n\n- c\n",
            "a: |\n\n\n",
        ] {
            assert!(yaml_subset_ok(ok), "{ok:?}");
        }
        for bad in [
            "a: &x b\n",
            "a: *x\n",
            "a: !t b\n",
            "%YAML 1.2\n---\na: b\n",
            "|\n  a\n",
            "a: | x\n  b\n",
            "a: |0\n  b\n",
            "a: |--\n  b\n",
            "a: |\n \tb\n",
            "a: |\n    b\n  \tc\n",
            "a: [b,\n  c]\n",
            "a: 'b\n  c'\n",
            "a: \"b\\\n  c\"\n",
            "a: b\n  c\n",
            "a:\n  b\n",
            "bare\n",
            "a: b: c\n",
            "a: - b\n",
            "\ta: b\n",
            "a: b\rc: d\n",
            "a: b\u{2028}c: d\n",
            "a: [b #c]\n",
            "a: [b:[c]]\n",
            "[a]: b\n",
            "a: [b] c\n",
            "a: 'b' c\n",
            "a: @b\n",
            "a: `b\n",
            "--- a\n",
            "a: b\0\n",
        ] {
            assert!(!yaml_subset_ok(bad), "{bad:?}");
        }
    }

    #[test]
    fn yaml_block_scalars_end_where_libyaml_ends_them() {
        // Where the content ends decides what is read as YAML next: each
        // case is checked and also parsed, and must agree with libyaml.
        let lock = |deprecated: &str, after: &str| {
            format!(
                "lockfileVersion: '9.0'\npackages:\n  a@1.0.0:\n    deprecated: {deprecated}\n    resolution: {{integrity: x}}\n{after}"
            )
        };
        let b = "  b@1.0.0: {}\n";
        for (doc, want) in [
            // Content more indented than the key ends at the next key.
            (lock("|-\n      line one\n        line two: [x", b), 2),
            // Empty lines, and lines less indented than the content but
            // empty, are inside it.
            (lock("|\n\n      one\n  \n      two", b), 2),
            // An empty line deeper than the first content line sets the
            // indentation (libyaml: the deepest leading line).
            (lock("|\n         \n      x", b), 0),
            // An indentation indicator: relative to the key.
            (lock("|1\n     x\n      y", b), 2),
            (lock("|2\n     x", b), 0),
            // No content at all.
            (lock(">-", b), 2),
        ] {
            let found = pins(LockKind::Pnpm, &doc).len();
            let libyaml = serde_yaml_ng::from_str::<serde_yaml_ng::Value>(&doc).is_ok();
            assert_eq!(found, want, "{doc}");
            if want > 0 {
                assert!(libyaml, "{doc}");
            }
        }
        // Content that would open flow collections, were it read as YAML.
        let hostile = format!(
            "lockfileVersion: '9.0'\npackages:\n  a@1.0.0:\n    deprecated: |\n{}  b@1.0.0: {{}}\n",
            "      [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n".repeat(1000)
        );
        assert_eq!(
            pins(LockKind::Pnpm, &hostile),
            expect(&[("a", "1.0.0"), ("b", "1.0.0")])
        );
        // ...and the line after which the content ends is read as YAML.
        let ended = lock(
            "|\n      x\n",
            "  [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n",
        );
        assert!(pins(LockKind::Pnpm, &ended).is_empty());
    }

    #[test]
    fn yaml_alias_bombs_stay_within_budget() {
        // Billion laughs: 9 levels of 10 aliases each.
        let mut bomb =
            String::from("lockfileVersion: '9.0'\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = format!("*a{}", i - 1);
            bomb.push_str(&format!(
                "a{i}: &a{i} [{}]\n",
                [prev.as_str(); 10].join(", ")
            ));
        }
        bomb.push_str("packages:\n  lodash@4.17.21: {x: *a9}\n");
        // Quadratic: one big anchor referred to by every entry.
        let n = 5000;
        let mut quad = String::from("__metadata:\n  version: 8\nbig: &big\n");
        for i in 0..n {
            quad.push_str(&format!("  k{i}: v\n"));
        }
        for i in 0..n {
            quad.push_str(&format!("\"p{i}@npm:1\": *big\n"));
        }
        let t = std::time::Instant::now();
        // Anchors are outside the subset read...
        assert!(parse_node_lockfile(LockKind::Pnpm, bomb.as_bytes()).is_empty());
        assert!(parse_node_lockfile(LockKind::Yarn, quad.as_bytes()).is_empty());
        // ...and, were they not, the walking budget would stop both.
        assert!(parse_yaml(bomb.as_bytes(), Layout::Pnpm).is_none());
        assert!(parse_yaml(quad.as_bytes(), Layout::Berry).is_none());
        assert!(t.elapsed().as_secs() < 5, "{:?}", t.elapsed());
        // Aliases within reason stay within it.
        let ok = "__metadata:\n  version: 8\n\"a@npm:^1\": &e\n  version: 1.0.0\n  resolution: \"a@npm:1.0.0\"\n\"a@npm:1.0.0\": *e\n";
        assert_eq!(
            parse_yaml(ok.as_bytes(), Layout::Berry).map(|t| t.entries.len()),
            Some(2)
        );
        assert!(pins(LockKind::Yarn, ok).is_empty());
    }

    #[test]
    fn pnpm_documents_are_merged() {
        let doc = "---\nlockfileVersion: '9.0'\nimporters:\n  .:\n    configDependencies: {}\npackages:\n  cfg@1.0.0: {}\n---\nlockfileVersion: '9.0'\npackages:\n  lodash@4.17.21: {}\n";
        assert_eq!(
            pins(LockKind::Pnpm, doc),
            expect(&[("cfg", "1.0.0"), ("lodash", "4.17.21")])
        );
    }

    #[test]
    fn entry_count_is_capped() {
        let n = MAX_LOCK_ENTRIES + 10;
        let mut npm = String::from(r#"{"lockfileVersion": 3, "packages": {"#);
        let mut yarn = String::from("# yarn lockfile v1\n\n");
        let mut pnpm = String::from("lockfileVersion: '9.0'\npackages:\n");
        for i in 0..n {
            if i > 0 {
                npm.push(',');
            }
            npm.push_str(&format!(r#""node_modules/p{i}": {{"version": "1.0.0"}}"#));
            yarn.push_str(&format!("p{i}@^1:\n  version \"1.0.0\"\n"));
            pnpm.push_str(&format!("  p{i}@1.0.0: {{}}\n"));
        }
        npm.push_str("}}");
        for (kind, doc) in [
            (LockKind::Npm, npm),
            (LockKind::Yarn, yarn),
            (LockKind::Pnpm, pnpm),
        ] {
            let found = parse_node_lockfile(kind, doc.as_bytes());
            assert_eq!(found.len(), MAX_LOCK_ENTRIES, "{kind:?}");
            assert!(found.contains(&("p0".into(), "1.0.0".into())), "{kind:?}");
            let last = format!("p{}", n - 1);
            assert!(!found.iter().any(|(name, _)| *name == last), "{kind:?}");
        }
    }

    #[test]
    fn truncations_and_mutations_never_panic() {
        let docs = [
            (LockKind::Npm, NPM_V1),
            (LockKind::Npm, NPM_V3),
            (LockKind::Yarn, YARN_V1),
            (LockKind::Yarn, BERRY),
            (LockKind::Pnpm, PNPM_V5),
            (LockKind::Pnpm, PNPM_V6),
            (LockKind::Pnpm, PNPM_V9),
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for (kind, doc) in docs {
            let b = doc.as_bytes();
            for end in 0..b.len() {
                let _ = parse_node_lockfile(kind, &b[..end]);
            }
            for _ in 0..300 {
                let mut m = b.to_vec();
                for _ in 0..1 + next() % 4 {
                    let at = (next() % m.len() as u64) as usize;
                    let byte = b"@/:\"'\n {}[]&*!#%-_(),0\xff"[(next() % 23) as usize];
                    match next() % 3 {
                        0 => m[at] = byte,
                        1 => m.insert(at, byte),
                        _ => {
                            m.remove(at);
                        }
                    }
                }
                for k in [LockKind::Npm, LockKind::Yarn, LockKind::Pnpm] {
                    let _ = parse_node_lockfile(k, &m);
                }
            }
        }
    }
}
