//! External tools: finding them (with the `CI=true` rule), running them, and the `git` calls the
//! Go fixtures make.

use std::path::Path;
use std::process::Command;

use crate::ci;

/// Whether `name` is an executable file to run: `name` itself when it is an absolute path, else
/// a file of that name in one of the `PATH` directories.
pub fn on_path(name: &str) -> bool {
    let p = Path::new(name);
    if p.is_absolute() {
        return p.is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join(name).is_file()))
}

/// Whether `name` is installed: [`on_path`], or in `/usr/sbin` (where Debian puts
/// `debootstrap`, even when that directory is not on a user's `PATH`).
pub fn installed(name: &str) -> bool {
    on_path(name) || Path::new("/usr/sbin").join(name).is_file()
}

/// Whether `name` is [`installed`]; a missing tool skips locally (a `SKIP:` line, `false`) and
/// fails under `CI=true`, as [`ci::require`] does.
pub fn require_tool(name: &str) -> bool {
    ci::require(installed(name), &format!("tool {name}"))
}

/// Runs `cmd` and returns its standard output (lossily UTF-8). Panics when it cannot be started
/// or exits unsuccessfully, with the command line, the exit status and both outputs.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    if !out.status.success() {
        panic!(
            "{cmd:?} failed: {}\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `git ARGS` in `dir` with a fixed test identity (no global configuration needed), through
/// [`run`]: returns standard output, untrimmed.
pub fn git(dir: &Path, args: &[&str]) -> String {
    run(Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=buildledger",
            "-c",
            "user.email=test@buildledger.invalid",
        ])
        .args(args))
}
