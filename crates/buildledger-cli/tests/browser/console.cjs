// The web console in a real browser (Debian's chromium driven by
// playwright-core): sign in, click overview → advisory (a firing alert's) →
// image → workload, open the waived advisory, filter the table, add and
// revoke a waiver, search, assert what each page shows, run axe-core in each
// page (no serious or critical violation), write a screenshot of each page,
// and check that ledger text never runs as script. Run by
// crates/buildledger-cli/tests/console.rs, which builds and scans the
// scenario's image, starts the server and passes everything in the
// environment: every value looked for (BL_WANT) comes from the scan, its
// oracles or the ledger's own answers.
'use strict';
const path = require('path');
const fs = require('fs');
const modules = process.env.BL_NODE_MODULES;
const { chromium } = require(path.join(modules, 'playwright-core'));
const axePath = require.resolve(path.join(modules, 'axe-core', 'axe.min.js'));
const { BL_BASE: base, BL_TOKEN: token, BL_OUT: out, BL_CHROMIUM: exe } = process.env;
const want = JSON.parse(process.env.BL_WANT);

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

// `s` as a literal in a regular expression.
function esc(s) {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

(async () => {
  const browser = await chromium.launch({ executablePath: exe, args: ['--no-sandbox'] });
  const failures = [];
  let page;
  try {
    // The server's certificate is from the test's private CA; axe is
    // injected past the pages' CSP (which forbids every script).
    const context = await browser.newContext({
      ignoreHTTPSErrors: true,
      bypassCSP: true,
      viewport: { width: 390, height: 844 },
    });
    page = await context.newPage();
    page.on('dialog', async (d) => {
      failures.push(`a dialog opened: ${d.message()}`);
      await d.dismiss();
    });
    const shot = async (name) => {
      await page.screenshot({ path: path.join(out, `${name}.png`), fullPage: true });
    };
    const axe = async (name) => {
      await page.addScriptTag({ path: axePath });
      const r = await page.evaluate(() => window.axe.run());
      for (const v of r.violations) {
        if (v.impact === 'serious' || v.impact === 'critical') {
          failures.push(`${name}: axe ${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
        }
      }
    };
    const same = (got, expected, what) => {
      check(JSON.stringify(got) === JSON.stringify(expected), `${what}: ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`);
    };
    // The image page's "Where it runs": (environment, decision) per container.
    const runsOfImage = () => page.locator('#runs + div tbody tr')
      .evaluateAll((rows) => rows.map((r) => [r.cells[1].textContent, r.cells[0].textContent]).sort());
    // An advisory page's blast radius: (environment, decision, alert, finding state) per container.
    const blastRadius = () => page.evaluate(() => {
      const rows = [];
      for (const h of document.querySelectorAll('#running ~ h3')) {
        const table = h.nextElementSibling && h.nextElementSibling.querySelector('table');
        for (const r of table ? table.tBodies[0].rows : []) {
          rows.push([h.textContent, r.cells[3].textContent, r.cells[4].textContent, r.cells[5].textContent]);
        }
      }
      return rows.sort();
    });
    const visit = async (name, expect) => {
      const text = await page.textContent('main');
      for (const w of expect) check(text.includes(w), `${name}: ${w} not shown`);
      await shot(name);
      await axe(name);
    };

    await page.goto(`${base}/`);
    check(new URL(page.url()).pathname === '/login', `no session: at ${page.url()}`);
    await visit('login', ['Sign in']);
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/`);
    const cookie = (await context.cookies()).find((c) => c.name === 'bl_session');
    check(cookie && cookie.httpOnly && cookie.secure && cookie.sameSite === 'Strict', `cookie ${JSON.stringify(cookie && { ...cookie, value: '…' })}`);
    check(!(await page.evaluate(() => document.cookie)).includes('bl_session'), 'the session is visible to scripts');
    // The alert loop runs every second: wait for the first firing alert.
    for (let i = 0; i < 80 && (await page.textContent('main')).includes('Firing alerts (0)'); i++) {
      await page.waitForTimeout(250);
      await page.reload();
    }
    await visit('overview', ['Overview', 'Running containers', 'Findings by severity', `Firing alerts (${want.firing})`, 'Waivers ending within', want.waiverOwner, want.waived]);
    check((await page.locator('main svg[role=img] polyline').count()) === 5, 'overview: the severity chart has a line per level');

    // overview → advisory (from a firing alert) → image → workload.
    const alerts = page.locator('main table').filter({ hasText: 'Rule' });
    const alertRow = alerts.locator('tbody tr').filter({ has: page.getByRole('link', { name: want.alertAdvisory, exact: true }) }).first();
    const alertText = await alertRow.textContent();
    for (const w of [want.alertEnvironment, want.alertWorkload]) check(alertText.includes(w), `overview: the alert row lacks ${w}: ${alertText}`);
    await alertRow.getByRole('link', { name: want.alertAdvisory, exact: true }).click();
    check(page.url().endsWith(`/advisories/${want.alertAdvisory}`), `advisory: at ${page.url()}`);
    await visit('advisory', [want.alertAdvisory, want.image, want.xnet, `Running workloads (${want.running})`]);
    same(await blastRadius(), want.alertRadius, 'advisory: running workloads');
    await page.getByRole('link', { name: want.image, exact: true }).first().click();
    check(new URL(page.url()).pathname === `/images/${want.image}`, `image: at ${page.url()}`);
    await visit('image', [
      want.image, 'Where it runs', 'Base-image lineage', 'observed',
      want.deb, want.toolchain, want.xnet, want.rust, `Components (${want.components})`, want.alertAdvisory, want.advisory,
    ]);
    same(await runsOfImage(), want.runs, 'image: where it runs');
    const place = new RegExp(`^${esc(`${want.cluster} / ${want.alertNamespace}`)}$`);
    await page.locator('#runs + div tbody tr').filter({ has: page.locator('small', { hasText: place }) })
      .getByRole('link', { name: want.alertWorkload, exact: true }).click();
    const at = new URL(page.url());
    check(at.pathname === '/workloads' && at.searchParams.get('namespace') === want.alertNamespace && at.searchParams.get('workload') === want.alertWorkload, `workload: at ${page.url()}`);
    await visit('workload', [
      `Workload ${want.alertWorkload}`, want.cluster, want.alertNamespace, want.alertEnvironment,
      want.alertAdvisory, ...(want.moreReasons ? [`and ${want.moreReasons} more`] : []),
    ]);
    // One container: its decision, and the first reasons in the posture's order.
    same(await page.locator('main tbody tr').evaluateAll((rows) => rows.map((r) => [
      r.cells[0].textContent,
      [...r.cells[4].querySelectorAll('a[href^="/advisories/"]')].map((a) => a.textContent),
    ])), [[want.alertDecision, want.workloadReasons]], 'workload: decision and reasons');

    // The waived finding: its advisory names the waiver in staging.
    await page.goto(`${base}/advisories/${want.waived}`);
    await visit('waived', [want.waived, want.image, `waived by ${want.waiverOwner}`]);
    same(await blastRadius(), want.waivedRadius, 'waived advisory: running workloads');

    // The table, filtered through its form (the URL carries the filter).
    await page.getByRole('link', { name: 'Mapping table' }).click();
    await visit('table', [want.image, want.toolchain]);
    await page.getByRole('link', { name: want.image, exact: true }).first().click();
    await visit('table-image', [want.image, want.advisory, want.rust, 'API surface']);
    same(await runsOfImage(), want.runs, 'image from the table: where it runs');
    await page.getByRole('link', { name: 'Mapping table' }).click();
    await page.getByLabel('Toolchain').fill(want.toolchain);
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/toolchain=/);
    check((await page.textContent('main')).includes(want.image), 'filtered table: image missing');
    check(!(await page.textContent('main')).includes(want.evil), 'filtered table: an image without the toolchain');
    await shot('table-filtered');

    // Waivers: add one through the form, then revoke it.
    await page.getByRole('link', { name: 'Waivers' }).click();
    await page.getByLabel('Advisory (id or alias)').fill(want.advisory);
    await page.getByLabel('Covers').selectOption('digest');
    await page.getByLabel('Digest, purl or repository').fill(want.image);
    await page.getByLabel('Environment (empty: every one)').fill('staging');
    await page.getByLabel('Owner').fill('browser-owner');
    await page.getByLabel('Reason').fill('fixed in the next release');
    await page.getByLabel('Ends (date or RFC 3339 time)').fill(want.expires);
    await page.getByRole('button', { name: 'Add waiver' }).click();
    await page.waitForURL(`${base}/waivers`);
    await visit('waivers', ['browser-owner', 'fixed in the next release', 'in force', want.advisory]);
    await page.locator('tr', { hasText: 'browser-owner' }).getByRole('button', { name: /Revoke waiver/ }).click();
    await page.waitForURL(`${base}/waivers`);
    check(!(await page.textContent('main')).includes('browser-owner'), 'the revoked waiver is still listed as in force');

    await page.getByLabel('Search').fill(want.alias);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(`${base}/advisories/${want.alias}`);
    await visit('search', [want.advisory, want.image, want.rust]);

    // Ledger text is never markup: the record with <script> in its fields.
    await page.goto(`${base}/images/${want.evil}`);
    await visit('escaped', ['<script>alert(1)</script>']);
    check((await page.locator('main script').count()) === 0, 'a script element from the ledger');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${base}/login`);
    await page.goto(`${base}/table`);
    check(new URL(page.url()).pathname === '/login', 'still signed in after sign-out');
  } catch (e) {
    failures.push(String((e && e.stack) || e));
    if (page) {
      failures.push(`at ${page.url()}: ${await page.textContent('body').catch(() => '')}`);
      await page.screenshot({ path: path.join(out, 'failure.png'), fullPage: true }).catch(() => {});
    }
  } finally {
    await browser.close();
  }
  fs.writeFileSync(path.join(out, 'result.json'), JSON.stringify({ failures }, null, 2));
  if (failures.length) {
    console.error(failures.join('\n'));
    process.exit(1);
  }
})();
