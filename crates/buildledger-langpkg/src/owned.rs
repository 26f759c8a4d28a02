//! Which files an OS package installed: dpkg's per-package file lists.

/// Is `path` a dpkg file list: `var/lib/dpkg/info/*.list`, or the
/// `*.md5sums` files of `info/` and of distroless images' `status.d/`?
pub fn is_dpkg_file_list(path: &str) -> bool {
    let in_info = path.starts_with("var/lib/dpkg/info/");
    (in_info && (path.ends_with(".list") || path.ends_with(".md5sums")))
        || (path.starts_with("var/lib/dpkg/status.d/") && path.ends_with(".md5sums"))
}

/// Paths (without the leading `/`) a file list names that `keep` wants:
/// one absolute path per line (`.list`), or `MD5  relative/path`
/// (`.md5sums`).
pub fn owned_paths(bytes: &[u8], keep: &dyn Fn(&str) -> bool) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let mut out = Vec::new();
    for line in text.lines() {
        let p = match line.split_once("  ") {
            Some((sum, rest)) if sum.len() == 32 && sum.bytes().all(|b| b.is_ascii_hexdigit()) => {
                rest
            }
            _ => line,
        };
        let p = p.trim_start_matches('/').trim_end();
        if !p.is_empty() && keep(p) {
            out.push(p.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_sums() {
        assert!(is_dpkg_file_list("var/lib/dpkg/info/python3-requests.list"));
        assert!(is_dpkg_file_list("var/lib/dpkg/status.d/base.md5sums"));
        assert!(!is_dpkg_file_list("var/lib/dpkg/status"));
        let all = |_: &str| true;
        assert_eq!(
            owned_paths(b"/.\n/usr/lib/python3/dist-packages/requests\n", &all),
            vec![".", "usr/lib/python3/dist-packages/requests"]
        );
        assert_eq!(
            owned_paths(
                b"0123456789abcdef0123456789abcdef  usr/share/doc/x/copyright\n",
                &|p: &str| p.starts_with("usr/share")
            ),
            vec!["usr/share/doc/x/copyright"]
        );
    }
}
