//! The process's allocators: mimalloc for Rust's heap, glibc's malloc for
//! SQLite's (the bundled library calls `malloc` directly), each tuned so a
//! long-running `buildledger serve` does not keep memory it has freed.
//!
//! Measured with `server-bench` (SQLite, 100 clients over TLS): the server
//! held 313 MiB while answering `GET /api/v1/images/{digest}` and 209 MiB
//! while taking submissions; with the settings below, and the server's
//! blocking threads capped, 103 and 145 MiB at the same request rates.

/// mimalloc rather than the system allocator: queries that return tens of
/// thousands of rows allocate and free hundreds of thousands of small strings,
/// and glibc's malloc spent a sixth of such a query consolidating free lists
/// (see `ledger-bench`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_arena_eager_commit` in mimalloc v3's `mi_option_e`
/// (`include/mimalloc.h`); `libmimalloc-sys` names only the options v2 and
/// v3 share.
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

/// Runs before `main`, before Rust allocates anything: an arena's commit
/// mode is fixed when the arena is reserved, at the first allocation, so
/// setting the option in `main` is too late (measured: no effect).
/// Eagerly committed arenas (mimalloc's default where the OS overcommits)
/// are never given back to the OS page by page: whatever a thread once
/// touched stays resident.
extern "C" fn before_main() {
    // SAFETY: sets one integer option; mimalloc documents `mi_option_set` as
    // callable at any time, including before its own initialisation (an
    // option set explicitly is not read again from the environment).
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0)
    };
}

#[cfg(target_os = "linux")]
#[allow(unsafe_code)] // an ELF constructor: the one way to run before the first allocation
#[used]
#[unsafe(link_section = ".init_array")]
static BEFORE_MAIN: extern "C" fn() = before_main;

/// glibc gives each thread that contends for the heap its own arena (up to
/// eight per core), and each keeps the SQLite pages it freed: two arenas
/// are enough for SQLite's page caches and save ~30 MiB under load.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt(3) with a documented parameter, called from `main`
    // before any other thread exists.
    #[allow(unsafe_code)]
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

#[cfg(test)]
mod tests {
    /// The constructor ran in this (test) binary too and the index names an
    /// option whose value it set.
    #[test]
    fn arenas_commit_lazily() {
        #[allow(unsafe_code)]
        // SAFETY: reads one integer option.
        let v = unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_ARENA_EAGER_COMMIT) };
        assert_eq!(v, 0);
    }
}
