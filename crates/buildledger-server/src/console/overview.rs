//! `GET /`: what is exposed right now and where. Running containers by
//! environment and decision, findings by severity with a 30-day chart,
//! feed freshness, firing alerts, waivers that end soon, provenance
//! mismatches, and the ledger's counts.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use buildledger_service::posture::{self, PostureFilter};
use buildledger_service::reads::{self, SEVERITY_LEVELS, SeverityTrend};
use buildledger_service::types as T;
use buildledger_service::{alerts, feeds, waivers};
use chrono::{DateTime, Utc};

use super::{Html, TABLE_PAGE, page, run, session};
use crate::app::AppState;

/// Days the findings chart covers.
const TREND_DAYS: u32 = 30;

/// Waivers that end within this many days are listed.
const EXPIRING_DAYS: i64 = 14;

/// Firing alerts listed.
const ALERTS_SHOWN: usize = 20;

/// `GET /`.
pub(super) async fn overview(State(st): State<AppState>, headers: HeaderMap) -> Response {
    let who = match session(&st, &headers).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let policy = st.policy();
    let got = run(&st, &who, move |s| {
        let now = Utc::now();
        let info = reads::info(s)?;
        let mismatches = reads::mismatches(s, None)?;
        let by_env =
            posture::posture_view(s, &policy, &PostureFilter::default(), 0, 0, now)?.counts;
        let trend = reads::severity_trend(s, TREND_DAYS, now)?;
        let sources = feeds::sources(s)?;
        let firing = alerts::firing_head(s, ALERTS_SHOWN)?;
        let expiring = waivers::expiring(s, chrono::TimeDelta::days(EXPIRING_DAYS), now)?;
        Ok(Overview {
            now,
            info,
            mismatches,
            by_env,
            trend,
            sources,
            firing,
            expiring,
        })
    })
    .await;
    let o = match got {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut b = Html::default();
    b.raw("<h1>Overview</h1>");
    counts(&mut b, &o);
    running(&mut b, &o.by_env);
    severity(&mut b, &o.trend);
    firing(&mut b, &o.firing);
    expiring(&mut b, &o.expiring, o.now);
    feeds_table(&mut b, &o.sources, o.now);
    mismatches(&mut b, &o.mismatches);
    page(StatusCode::OK, "Overview", Some(&who), b)
}

struct Overview {
    now: DateTime<Utc>,
    info: reads::Info,
    mismatches: Vec<T::Mismatch>,
    /// Environment ("" for none) → containers denied, warned, allowed.
    by_env: BTreeMap<String, [usize; 3]>,
    trend: SeverityTrend,
    sources: Vec<T::FeedSourceState>,
    /// Alerts firing, and the newest of them.
    firing: (u64, Vec<T::AlertRow>),
    expiring: Vec<T::Waiver>,
}

fn counts(b: &mut Html, o: &Overview) {
    b.raw("<ul class=\"counts\" aria-label=\"Ledger counts\">");
    for (label, n) in [
        ("Images", o.info.stats.images),
        ("Records", o.info.stats.records),
        ("Components", o.info.stats.components),
        ("Advisories", o.info.advisories),
        ("Findings", o.info.findings),
        ("Mismatches", o.mismatches.len() as u64),
    ] {
        b.raw("<li><strong>")
            .text(&n.to_string())
            .raw("</strong>")
            .raw(label)
            .raw("</li>");
    }
    b.raw("</ul>");
}

/// A link to the workloads page of `env` (and `decision`).
fn workloads_link(b: &mut Html, env: &str, decision: Option<&str>, label: &str) {
    let mut q = super::QueryString::default();
    q.push("env", env);
    if let Some(d) = decision {
        q.push("decision", d);
    }
    b.raw("<a href=\"/workloads")
        .text(&q.finish())
        .raw("\">")
        .text(label)
        .raw("</a>");
}

fn running(b: &mut Html, by_env: &BTreeMap<String, [usize; 3]>) {
    b.raw("<h2>Running containers</h2>");
    if by_env.is_empty() {
        b.raw("<p>No cluster has reported what it runs (<code>buildledger inventory report</code> or the admission webhook).</p>");
        return;
    }
    b.raw("<div class=\"scroll\"><table><thead><tr><th scope=\"col\">Environment</th>")
        .raw("<th scope=\"col\">Denied</th><th scope=\"col\">Warned</th><th scope=\"col\">Allowed</th>")
        .raw("<th scope=\"col\">All</th></tr></thead><tbody>");
    for (env, n) in by_env {
        // The containers without an environment have a name of their own.
        let name = if env.is_empty() {
            super::workloads::NO_ENV
        } else {
            env.as_str()
        };
        b.raw("<tr><th scope=\"row\">");
        workloads_link(b, name, None, name);
        b.raw("</th>");
        for (i, d) in ["deny", "warn", "allow"].into_iter().enumerate() {
            b.raw("<td class=\"").raw(d).raw("\">");
            if n[i] > 0 {
                workloads_link(b, name, Some(d), &n[i].to_string());
            } else {
                b.raw("0");
            }
            b.raw("</td>");
        }
        b.raw("<td>")
            .text(&n.iter().sum::<usize>().to_string())
            .raw("</td></tr>");
    }
    b.raw("</tbody></table></div>");
}

/// Line colours of the levels (critical → unknown).
const COLOURS: [&str; 5] = ["#b3261e", "#c25400", "#8a6d00", "#1a5fb4", "#6b6b6b"];

fn severity(b: &mut Html, t: &SeverityTrend) {
    b.raw("<h2>Findings by severity</h2><ul class=\"counts\" aria-label=\"Open findings by severity\">");
    for (i, level) in SEVERITY_LEVELS.iter().enumerate() {
        b.raw("<li><strong>")
            .text(&t.now[i].to_string())
            .raw("</strong>")
            .text(level)
            .raw("</li>");
    }
    b.raw("</ul>");
    chart(b, t);
}

/// The open findings per level over the last days as an inline SVG line
/// chart (no script), described in its title and given as a table too.
fn chart(b: &mut Html, t: &SeverityTrend) {
    let (w, h, pad) = (600.0f64, 180.0f64, 24.0f64);
    let max = t
        .days
        .iter()
        .flat_map(|(_, c)| c.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let n = t.days.len().max(2) as f64;
    let x = |i: usize| pad + (w - 2.0 * pad) * i as f64 / (n - 1.0);
    let y = |v: u64| h - pad - (h - 2.0 * pad) * v as f64 / max;
    let first = t.days.first().map(|d| d.0.to_string()).unwrap_or_default();
    let last = t.days.last().map(|d| d.0.to_string()).unwrap_or_default();
    let mut desc = format!("Open findings per day from {first} to {last}; now: ");
    desc.push_str(
        &SEVERITY_LEVELS
            .iter()
            .zip(t.now)
            .map(|(l, n)| format!("{n} {l}"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    b.raw("<figure><svg class=\"chart\" viewBox=\"0 0 600 180\" role=\"img\" aria-labelledby=\"trend-title\">")
        .raw("<title id=\"trend-title\">")
        .text(&desc)
        .raw("</title>");
    b.raw("<line x1=\"24\" y1=\"156\" x2=\"576\" y2=\"156\" stroke=\"currentColor\" stroke-opacity=\".4\"/>");
    b.raw("<text x=\"24\" y=\"14\" font-size=\"11\" fill=\"currentColor\">")
        .text(&(max as u64).to_string())
        .raw("</text><text x=\"24\" y=\"174\" font-size=\"11\" fill=\"currentColor\">")
        .text(&first)
        .raw("</text><text x=\"576\" y=\"174\" font-size=\"11\" text-anchor=\"end\" fill=\"currentColor\">")
        .text(&last)
        .raw("</text>");
    for (l, colour) in COLOURS.iter().enumerate() {
        let pts: Vec<String> = t
            .days
            .iter()
            .enumerate()
            .map(|(i, (_, c))| format!("{:.1},{:.1}", x(i), y(c[l])))
            .collect();
        b.raw("<polyline fill=\"none\" stroke-width=\"2\" stroke=\"")
            .raw(colour)
            .raw("\" points=\"")
            .text(&pts.join(" "))
            .raw("\"/>");
    }
    b.raw("</svg><figcaption><ul class=\"legend\">");
    for (l, colour) in COLOURS.iter().enumerate() {
        b.raw("<li><span class=\"swatch\" style=\"background:")
            .raw(colour)
            .raw("\"></span>")
            .raw(SEVERITY_LEVELS[l])
            .raw("</li>");
    }
    b.raw("</ul></figcaption></figure>");
    b.raw("<details><summary>Findings per day</summary><div class=\"scroll\"><table><thead><tr><th scope=\"col\">Day</th>");
    for l in SEVERITY_LEVELS {
        b.raw("<th scope=\"col\">").raw(l).raw("</th>");
    }
    b.raw("</tr></thead><tbody>");
    for (d, c) in t.days.iter().rev() {
        b.raw("<tr><th scope=\"row\">")
            .text(&d.to_string())
            .raw("</th>");
        for n in c {
            b.raw("<td>").text(&n.to_string()).raw("</td>");
        }
        b.raw("</tr>");
    }
    b.raw("</tbody></table></div></details>");
}

fn label<'a>(a: &'a T::AlertRow, k: &str) -> &'a str {
    a.labels.get(k).and_then(|v| v.as_str()).unwrap_or("")
}

fn firing(b: &mut Html, (total, firing): &(u64, Vec<T::AlertRow>)) {
    let capped = *total >= alerts::FIRING_COUNT_CAP as u64;
    b.raw("<h2>Firing alerts (")
        .text(&total.to_string())
        .raw(if capped { " or more" } else { "" })
        .raw(")</h2>");
    if firing.is_empty() {
        b.raw("<p>No alert is firing.</p>");
        return;
    }
    b.raw("<div class=\"scroll\"><table><thead><tr><th scope=\"col\">Since</th>")
        .raw("<th scope=\"col\">Environment</th><th scope=\"col\">Workload</th>")
        .raw("<th scope=\"col\">Image</th><th scope=\"col\">Rule</th><th scope=\"col\">Advisory</th>")
        .raw("</tr></thead><tbody>");
    for a in firing {
        b.raw("<tr><td>")
            .text(&a.starts_at.format("%Y-%m-%d %H:%M").to_string())
            .raw("</td><td>")
            .text(label(a, "environment"))
            .raw("</td><td>");
        super::workload_link(
            b,
            label(a, "cluster"),
            label(a, "namespace"),
            label(a, "workload"),
        );
        b.raw("</td><td>");
        let d = label(a, "digest");
        if d.is_empty() {
            b.raw("unresolved");
        } else {
            b.link("/images/", d, &super::short(d));
        }
        b.raw("</td><td>").text(label(a, "rule")).raw("</td><td>");
        let adv = label(a, "advisory");
        if !adv.is_empty() {
            b.link("/advisories/", adv, adv);
        }
        b.raw("</td></tr>");
    }
    b.raw("</tbody></table></div>");
    if *total > firing.len() as u64 {
        b.raw("<p>Showing the newest ")
            .text(&ALERTS_SHOWN.to_string())
            .raw(".</p>");
    }
}

fn expiring(b: &mut Html, w: &[T::Waiver], now: DateTime<Utc>) {
    b.raw("<h2>Waivers ending within ")
        .text(&EXPIRING_DAYS.to_string())
        .raw(" days</h2>");
    if w.is_empty() {
        b.raw("<p>None. <a href=\"/waivers\">All waivers</a></p>");
        return;
    }
    super::waivers::waiver_table(b, w, now, false);
    b.raw("<p><a href=\"/waivers\">All waivers</a></p>");
}

/// "3 h ago", "2 d ago".
pub(super) fn age(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let s = (now - t).num_seconds().max(0);
    match s {
        0..60 => format!("{s} s ago"),
        60..3600 => format!("{} min ago", s / 60),
        3600..86400 => format!("{} h ago", s / 3600),
        _ => format!("{} d ago", s / 86400),
    }
}

fn feeds_table(b: &mut Html, sources: &[T::FeedSourceState], now: DateTime<Utc>) {
    b.raw("<h2>Feeds</h2>");
    if sources.is_empty() {
        b.raw("<p>No feed source is configured for continuous sync (advisories imported by hand are counted above).</p>");
        return;
    }
    b.raw("<div class=\"scroll\"><table><thead><tr><th scope=\"col\">Source</th>")
        .raw("<th scope=\"col\">Last success</th><th scope=\"col\">Advisories</th>")
        .raw("<th scope=\"col\">Last error</th></tr></thead><tbody>");
    for f in sources {
        b.raw("<tr><th scope=\"row\">")
            .text(&f.name)
            .raw("<br><small>")
            .text(&f.location)
            .raw("</small></th><td>");
        match f.last_success {
            Some(t) => b.text(&age(t, now)),
            None => b.raw("never"),
        };
        b.raw("</td><td>")
            .text(&f.advisories.to_string())
            .raw("</td><td>")
            .text(f.last_error.as_deref().unwrap_or(""))
            .raw("</td></tr>");
    }
    b.raw("</tbody></table></div>");
}

fn mismatches(b: &mut Html, mismatches: &[T::Mismatch]) {
    b.raw("<h2>Provenance mismatches</h2>");
    if mismatches.is_empty() {
        b.raw("<p>No claim disagrees with what an image shows.</p>");
        return;
    }
    b.raw("<div class=\"scroll\"><table><thead><tr><th scope=\"col\">Image</th>")
        .raw("<th scope=\"col\">Field</th><th scope=\"col\">Claimed</th>")
        .raw("<th scope=\"col\">Observed</th><th scope=\"col\">Claim</th></tr></thead><tbody>");
    for m in mismatches.iter().take(TABLE_PAGE) {
        b.raw("<tr><td>")
            .link("/images/", &m.digest, &m.digest)
            .raw("</td><td>")
            .text(&m.field)
            .raw("</td><td>")
            .text(m.claimed.as_deref().unwrap_or("—"))
            .raw("</td><td>")
            .text(m.observed.as_deref().unwrap_or("—"))
            .raw("</td><td>")
            .text(m.claim.as_deref().unwrap_or("—"))
            .raw("</td></tr>");
    }
    b.raw("</tbody></table></div>");
    if mismatches.len() > TABLE_PAGE {
        b.raw("<p>Showing the first ")
            .text(&TABLE_PAGE.to_string())
            .raw(" of ")
            .text(&mismatches.len().to_string())
            .raw(".</p>");
    }
}
