//! The per-image budgets ([`Limits`]) and the shared counter that enforces
//! them while an image is opened and walked ([`Budget`]).

use std::cell::{Cell, RefCell};
use std::io;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Default [`Limits::max_image_bytes`]: 16 GiB decompressed over all layers.
pub const DEFAULT_MAX_IMAGE_BYTES: u64 = 16 << 30;
/// Default [`Limits::max_file_bytes`]: 512 MiB per file handed to a visitor.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 512 << 20;
/// Default [`Limits::max_buffered_bytes`]: 1 GiB held in memory at once.
pub const DEFAULT_MAX_BUFFERED_BYTES: u64 = 1 << 30;
/// Default [`Limits::max_entries`]: tar entries over all layers.
pub const DEFAULT_MAX_ENTRIES: u64 = 4_000_000;
/// Default [`Limits::max_ratio`]: decompressed/compressed bytes of a layer.
pub const DEFAULT_MAX_RATIO: u64 = 1024;
/// Default [`Limits::max_time`]: one hour per image.
pub const DEFAULT_MAX_TIME: Duration = Duration::from_secs(3600);

/// Bytes charged to [`Limits::max_buffered_bytes`] for each path the
/// squashed walk remembers, on top of the path's length (hash-table slot,
/// string header and allocation overhead).
pub const PATH_OVERHEAD_BYTES: u64 = 64;

/// Every budget of one image, in one place: what opening and walking an
/// image (and the visitor's buffers, see [`Budget`]) may consume before the
/// walk stops with [`ImageError::Limit`](crate::ImageError::Limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Decompressed layer bytes over the whole image (the raw blob bytes of
    /// each layer are bounded by it too). Stops decompression bombs that
    /// stay under [`Limits::max_ratio`], e.g. many moderately compressed
    /// layers.
    pub max_image_bytes: u64,
    /// Largest file whose content is handed to a visitor; larger wanted
    /// files are listed, not read, and reported as a *skipped* [`Warning`](crate::Warning).
    pub max_file_bytes: u64,
    /// Memory the walk may hold at once: the set of paths the squashed view
    /// remembers plus whatever visitors charge to the [`Budget`] for the
    /// file contents they buffer.
    pub max_buffered_bytes: u64,
    /// Tar entries over all layers (files in a `dir:` tree).
    pub max_entries: u64,
    /// Compression-bomb guard: after [`crate::RATIO_CHECK_AFTER`]
    /// decompressed bytes, a layer whose decompressed/compressed ratio
    /// exceeds this fails.
    pub max_ratio: u64,
    /// Wall-clock time from [`open`](crate::open) to the end of the walk,
    /// network included.
    pub max_time: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_image_bytes: DEFAULT_MAX_IMAGE_BYTES,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            max_buffered_bytes: DEFAULT_MAX_BUFFERED_BYTES,
            max_entries: DEFAULT_MAX_ENTRIES,
            max_ratio: DEFAULT_MAX_RATIO,
            max_time: DEFAULT_MAX_TIME,
        }
    }
}

/// Which of the [`Limits`] was exceeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LimitKind {
    /// [`Limits::max_image_bytes`].
    ImageBytes,
    /// [`Limits::max_file_bytes`].
    FileBytes,
    /// [`Limits::max_buffered_bytes`].
    BufferedBytes,
    /// [`Limits::max_entries`].
    Entries,
    /// [`Limits::max_ratio`].
    Ratio,
    /// [`Limits::max_time`].
    Time,
}

impl LimitKind {
    /// The field name in [`Limits`], e.g. `max_image_bytes`.
    pub fn name(self) -> &'static str {
        match self {
            LimitKind::ImageBytes => "max_image_bytes",
            LimitKind::FileBytes => "max_file_bytes",
            LimitKind::BufferedBytes => "max_buffered_bytes",
            LimitKind::Entries => "max_entries",
            LimitKind::Ratio => "max_ratio",
            LimitKind::Time => "max_time",
        }
    }

    /// The configured value of this limit in `l`, as a number (seconds for
    /// [`LimitKind::Time`]).
    pub fn value_in(self, l: &Limits) -> u64 {
        match self {
            LimitKind::ImageBytes => l.max_image_bytes,
            LimitKind::FileBytes => l.max_file_bytes,
            LimitKind::BufferedBytes => l.max_buffered_bytes,
            LimitKind::Entries => l.max_entries,
            LimitKind::Ratio => l.max_ratio,
            LimitKind::Time => l.max_time.as_secs(),
        }
    }
}

/// A limit was exceeded: which one, its value, and what was being done.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{what}: exceeds {} = {value}{}", kind.name(), unit(*kind))]
pub struct LimitExceeded {
    /// The limit.
    pub kind: LimitKind,
    /// Its configured value (bytes, entries, ratio, or seconds).
    pub value: u64,
    /// What exceeded it (names the layer or file when known).
    pub what: String,
}

fn unit(k: LimitKind) -> &'static str {
    match k {
        LimitKind::ImageBytes | LimitKind::FileBytes | LimitKind::BufferedBytes => " bytes",
        LimitKind::Entries => " entries",
        LimitKind::Ratio => ":1",
        LimitKind::Time => " s",
    }
}

struct State {
    limits: Limits,
    start: Instant,
    image_bytes: Cell<u64>,
    entries: Cell<u64>,
    buffered: Cell<u64>,
    peak_buffered: Cell<u64>,
    tripped: RefCell<Option<LimitExceeded>>,
}

/// The running account of one image against its [`Limits`], shared by the
/// image reader and the visitor (get it with [`Image::budget`](crate::Image::budget)).
///
/// A visitor that keeps file contents in memory calls [`Budget::charge`]
/// *before* reading them and [`Budget::release`] when it drops them, and
/// returns the error `charge` gives from [`Visitor::visit`](crate::Visitor::visit):
/// the walk then ends with [`ImageError::Limit`](crate::ImageError::Limit),
/// however the error was wrapped on the way.
#[derive(Clone)]
pub struct Budget(Rc<State>);

impl std::fmt::Debug for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Budget")
            .field("limits", &self.0.limits)
            .field("buffered", &self.0.buffered.get())
            .finish_non_exhaustive()
    }
}

impl Budget {
    /// A fresh account; the clock starts now.
    pub fn new(limits: Limits) -> Budget {
        Budget(Rc::new(State {
            limits,
            start: Instant::now(),
            image_bytes: Cell::new(0),
            entries: Cell::new(0),
            buffered: Cell::new(0),
            peak_buffered: Cell::new(0),
            tripped: RefCell::new(None),
        }))
    }

    /// The limits enforced.
    pub fn limits(&self) -> &Limits {
        &self.0.limits
    }

    /// The first limit exceeded, if any.
    pub fn tripped(&self) -> Option<LimitExceeded> {
        self.0.tripped.borrow().clone()
    }

    /// Records `kind` as exceeded and returns it as an `io::Error` (kind
    /// `FileTooLarge` or `TimedOut`) carrying the [`LimitExceeded`].
    pub fn exceed(&self, kind: LimitKind, what: impl Into<String>) -> io::Error {
        let e = LimitExceeded {
            kind,
            value: kind.value_in(&self.0.limits),
            what: what.into(),
        };
        self.0.tripped.borrow_mut().get_or_insert(e.clone());
        let k = if kind == LimitKind::Time {
            io::ErrorKind::TimedOut
        } else {
            io::ErrorKind::FileTooLarge
        };
        io::Error::new(k, e)
    }

    /// Reserves `n` bytes of memory for `what`; fails (and reserves nothing)
    /// when that would exceed [`Limits::max_buffered_bytes`].
    pub fn charge(&self, n: u64, what: &str) -> io::Result<()> {
        let now = self.0.buffered.get().saturating_add(n);
        if now > self.0.limits.max_buffered_bytes {
            return Err(self.exceed(
                LimitKind::BufferedBytes,
                format!(
                    "{what}: {n} more bytes in memory on top of {} already held",
                    self.0.buffered.get()
                ),
            ));
        }
        self.0.buffered.set(now);
        self.0
            .peak_buffered
            .set(self.0.peak_buffered.get().max(now));
        Ok(())
    }

    /// Gives back `n` bytes reserved with [`Budget::charge`].
    pub fn release(&self, n: u64) {
        self.0.buffered.set(self.0.buffered.get().saturating_sub(n));
    }

    /// Bytes reserved now.
    pub fn buffered(&self) -> u64 {
        self.0.buffered.get()
    }

    /// The most bytes reserved at any one time.
    pub fn peak_buffered(&self) -> u64 {
        self.0.peak_buffered.get()
    }

    /// Time left before [`Limits::max_time`].
    pub fn remaining(&self) -> Duration {
        self.0
            .limits
            .max_time
            .saturating_sub(self.0.start.elapsed())
    }

    /// Fails once [`Limits::max_time`] has passed.
    pub fn check_time(&self, what: &str) -> io::Result<()> {
        if self.0.start.elapsed() >= self.0.limits.max_time {
            return Err(self.exceed(LimitKind::Time, what.to_string()));
        }
        Ok(())
    }

    /// Counts `n` decompressed bytes against [`Limits::max_image_bytes`].
    pub(crate) fn add_image_bytes(&self, n: u64, what: &str) -> io::Result<()> {
        let now = self.0.image_bytes.get().saturating_add(n);
        self.0.image_bytes.set(now);
        if now > self.0.limits.max_image_bytes {
            return Err(self.exceed(
                LimitKind::ImageBytes,
                format!("{what}: more than {now} decompressed bytes in the image"),
            ));
        }
        Ok(())
    }

    /// Counts one entry against [`Limits::max_entries`].
    pub(crate) fn add_entry(&self, what: &str) -> io::Result<()> {
        let now = self.0.entries.get() + 1;
        self.0.entries.set(now);
        if now > self.0.limits.max_entries {
            return Err(self.exceed(
                LimitKind::Entries,
                format!("{what}: more than {} entries", self.0.limits.max_entries),
            ));
        }
        Ok(())
    }
}
