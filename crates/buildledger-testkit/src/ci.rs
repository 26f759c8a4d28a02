//! The `CI=true` rule: a missing prerequisite skips a test locally and fails it in CI.

/// Whether the tests run under CI (`CI=true`), where a missing prerequisite is a failure.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// `what` is missing: under `CI=true` this panics; otherwise it prints a `SKIP:` line and
/// returns `false`, so callers can write `if !skip_or_fail(..) { return }` or
/// `ok || skip_or_fail(..)`.
pub fn skip_or_fail(what: &str) -> bool {
    if in_ci() {
        panic!("CI=true but a test prerequisite is missing: {what}");
    }
    eprintln!("SKIP: {what} is missing");
    false
}

/// `true` when `available`; otherwise [`skip_or_fail`]`(what)`.
pub fn require(available: bool, what: &str) -> bool {
    available || skip_or_fail(what)
}
