//! Database targets and their secrets: which targets name PostgreSQL, and
//! redaction of passwords from targets and driver messages.

/// Whether a target names a PostgreSQL database: a `postgres://` or
/// `postgresql://` URL, or a libpq keyword/value string whose keywords are
/// all libpq's (`host=db dbname=ledger user=u`).
pub(crate) fn is_postgres_target(target: &str) -> bool {
    target.starts_with("postgres://")
        || target.starts_with("postgresql://")
        || looks_like_keyword_value(target)
}

/// libpq connection keywords (PostgreSQL 17).
const LIBPQ_KEYWORDS: &[&str] = &[
    "application_name",
    "channel_binding",
    "client_encoding",
    "connect_timeout",
    "dbname",
    "fallback_application_name",
    "gssdelegation",
    "gssencmode",
    "gsslib",
    "host",
    "hostaddr",
    "keepalives",
    "keepalives_count",
    "keepalives_idle",
    "keepalives_interval",
    "krbsrvname",
    "load_balance_hosts",
    "options",
    "passfile",
    "password",
    "port",
    "replication",
    "require_auth",
    "requirepeer",
    "service",
    "ssl_max_protocol_version",
    "ssl_min_protocol_version",
    "sslcert",
    "sslcertmode",
    "sslcompression",
    "sslcrl",
    "sslcrldir",
    "sslkey",
    "sslmode",
    "sslnegotiation",
    "sslpassword",
    "sslrootcert",
    "sslsni",
    "target_session_attrs",
    "tcp_user_timeout",
    "user",
];

/// Parameters whose values are hidden: passwords, the password file, keys,
/// tokens (`password`, `sslpassword`, `passfile`, `sslkey`, …).
fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.contains("pass") || k.contains("secret") || k.contains("token") || k.ends_with("key")
}

/// One `keyword = value` pair of a libpq string: the keyword, and the
/// byte range of its value as written (quotes included).
struct KvPair<'a> {
    key: &'a str,
    value: std::ops::Range<usize>,
}

/// Split a libpq keyword/value string as libpq (and the `postgres` crate)
/// read it: whitespace around `=`, values plain or single-quoted, `\`
/// escaping the next character in both. Returns the pairs read and, when
/// the rest could not be read, the byte offset where reading stopped.
fn keyword_values(s: &str) -> (Vec<KvPair<'_>>, Option<usize>) {
    let b = s.as_bytes();
    let mut i = 0;
    let mut pairs = Vec::new();
    let ws = |c: u8| c.is_ascii_whitespace();
    loop {
        while i < b.len() && ws(b[i]) {
            i += 1;
        }
        if i == b.len() {
            return (pairs, None);
        }
        let start = i;
        while i < b.len() && !ws(b[i]) && b[i] != b'=' {
            i += 1;
        }
        let key = &s[start..i];
        while i < b.len() && ws(b[i]) {
            i += 1;
        }
        if i == b.len() || b[i] != b'=' {
            return (pairs, Some(start));
        }
        i += 1;
        while i < b.len() && ws(b[i]) {
            i += 1;
        }
        let vstart = i;
        if i < b.len() && b[i] == b'\'' {
            i += 1;
            loop {
                match b.get(i) {
                    None => return (pairs, Some(start)),
                    Some(b'\\') => i += 2,
                    Some(b'\'') => {
                        i += 1;
                        break;
                    }
                    Some(_) => i += 1,
                }
            }
        } else {
            while i < b.len() && !ws(b[i]) {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            if i == vstart {
                return (pairs, Some(start));
            }
        }
        let end = i.min(b.len());
        i = end;
        pairs.push(KvPair {
            key,
            value: vstart..end,
        });
    }
}

fn looks_like_keyword_value(s: &str) -> bool {
    let (pairs, rest) = keyword_values(s);
    rest.is_none() && !pairs.is_empty() && pairs.iter().all(|p| LIBPQ_KEYWORDS.contains(&p.key))
}

/// A database target fit for messages and logs: for PostgreSQL URLs the
/// userinfo password (everything between the first `:` and the last `@` of
/// the authority, so a raw `@` in a password leaks nothing) and every
/// secret query parameter (`password`, `sslpassword`, `passfile`, …) become
/// `***`; in libpq keyword/value strings the same parameters do. Paths are
/// returned unchanged.
pub fn redact_url(target: &str) -> String {
    if let Some(i) = target.find("://") {
        let (scheme, rest) = (&target[..i], &target[i + 3..]);
        if rest.contains('@') || rest.contains('?') {
            return format!("{scheme}://{}", redact_authority_and_query(rest));
        }
        return target.to_string();
    }
    let (pairs, rest) = keyword_values(target);
    let keywordish = !pairs.is_empty() && pairs.iter().all(|p| LIBPQ_KEYWORDS.contains(&p.key));
    if !keywordish && !target.to_ascii_lowercase().contains("password") {
        return target.to_string();
    }
    let mut out: Vec<String> = pairs
        .iter()
        .map(|p| {
            if is_secret_key(p.key) {
                format!("{}=***", p.key)
            } else {
                format!("{}={}", p.key, &target[p.value.clone()])
            }
        })
        .collect();
    if rest.is_some() {
        // Unreadable from here on: it may hold a secret.
        out.push("***".into());
    }
    out.join(" ")
}

/// Where the userinfo of a URL (the part after `scheme://`) ends: the last
/// `@` followed by something that can be a host list; failing that, the
/// last `@` at all.
fn userinfo_end(rest: &str) -> Option<usize> {
    let host_like = |h: &str| {
        h.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b".-_:[],%".contains(&c))
    };
    let ats: Vec<usize> = rest.match_indices('@').map(|(i, _)| i).collect();
    ats.iter()
        .rev()
        .copied()
        .find(|&at| {
            let tail = &rest[at + 1..];
            let host = tail.split(['/', '?']).next().unwrap_or("");
            host_like(host)
        })
        .or(ats.last().copied())
}

/// Why a PostgreSQL URL cannot be used as written, if it cannot: a raw `@`
/// in the userinfo, which the driver splits at the *first* `@` (reading
/// the rest of the password as the host).
pub(crate) fn url_problem(target: &str) -> Option<String> {
    let rest = target.split_once("://")?.1;
    let at = userinfo_end(rest)?;
    rest[..at].contains('@').then(|| {
        "the user name or password of the postgres URL contains a raw `@`: write it as %40".into()
    })
}

fn redact_authority_and_query(rest: &str) -> String {
    let at = userinfo_end(rest);
    let mut out = String::new();
    let after = match at {
        Some(at) => {
            let userinfo = &rest[..at];
            let (user, has_password) = match userinfo.split_once(':') {
                Some((u, _)) => (u, true),
                None => (userinfo, false),
            };
            if user.contains(['/', '?', '=', '&', '#']) {
                out.push_str("***");
            } else {
                out.push_str(user);
                if has_password {
                    out.push_str(":***");
                }
            }
            out.push('@');
            &rest[at + 1..]
        }
        None => rest,
    };
    match after.split_once('?') {
        None => out.push_str(after),
        Some((hostpath, query)) => {
            out.push_str(hostpath);
            out.push('?');
            let params: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if is_secret_key(&percent_decode(k)) => format!("{k}=***"),
                    _ => kv.to_string(),
                })
                .collect();
            out.push_str(&params.join("&"));
        }
    }
    out
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(h) = s.get(i + 1..i + 3)
            && let Ok(v) = u8::from_str_radix(h, 16)
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What must never appear in a message about `target`: the target itself
/// and its password, as written and as the driver decodes it.
pub(crate) fn secrets_of(target: &str) -> Vec<String> {
    let mut s = vec![target.to_string()];
    if let Ok(c) = target.parse::<postgres::Config>()
        && let Some(p) = c.get_password()
    {
        s.push(String::from_utf8_lossy(p).into_owned());
    }
    for p in keyword_values(target).0 {
        if is_secret_key(p.key) {
            s.push(target[p.value.clone()].to_string());
        }
    }
    if let Some(i) = target.find("://") {
        let rest = &target[i + 3..];
        if let Some(at) = rest.rfind('@')
            && let Some((_, pw)) = rest[..at].split_once(':')
        {
            s.push(pw.to_string());
            s.push(percent_decode(pw));
        }
        if let Some((_, q)) = rest.split_once('?') {
            for kv in q.split('&') {
                if let Some((k, v)) = kv.split_once('=')
                    && is_secret_key(&percent_decode(k))
                {
                    s.push(v.to_string());
                    s.push(percent_decode(v));
                }
            }
        }
    }
    // Very short strings would turn every message into asterisks.
    s.retain(|x| x.chars().count() >= 3);
    s.sort_by_key(|x| std::cmp::Reverse(x.len()));
    s.dedup();
    s
}

pub(crate) fn scrub(message: &str, secrets: &[String]) -> String {
    let mut m = message.to_string();
    for s in secrets {
        if m.contains(s.as_str()) {
            m = m.replace(s.as_str(), "***");
        }
    }
    m
}
