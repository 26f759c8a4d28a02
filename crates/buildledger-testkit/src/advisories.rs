//! Advisory fixtures.

/// GitHub's advisory of HTTP/2 rapid reset in `golang.org/x/net` (< 0.17.0),
/// GHSA-4374-p667-p6c8, as github.com/advisories publishes it in OSV form:
/// aliased to CVE-2023-39325 like Go's GO-2023-2102, and, unlike it, with a
/// CVSS v3 vector (7.5, High).
pub fn ghsa_rapid_reset() -> serde_json::Value {
    serde_json::json!({
        "schema_version": "1.4.0",
        "id": "GHSA-4374-p667-p6c8",
        "modified": "2024-02-16T08:12:33Z",
        "published": "2023-10-11T22:28:29Z",
        "aliases": ["CVE-2023-39325"],
        "summary": "HTTP/2 rapid reset can cause excessive work in net/http",
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}],
        "affected": [{
            "package": {"ecosystem": "Go", "name": "golang.org/x/net"},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "0.17.0"}]}]
        }]
    })
}
