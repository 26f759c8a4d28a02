// The web console in a real browser (Debian's chromium driven by
// playwright-core): sign in, click overview → advisory → image → workload,
// filter the table, add and revoke a waiver, search, assert what each page shows, run axe-core in each page (no
// serious or critical violation), write a screenshot of each page, and
// check that ledger text never runs as script. Run by
// crates/buildledger-cli/tests/console.rs, which starts the server and
// passes everything in the environment.
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
    await visit('overview', ['Overview', 'Running containers', 'Findings by severity', 'Firing alerts', 'Waivers ending within']);
    check(!(await page.textContent('main')).includes('Firing alerts (0)'), 'overview: no alert fired');
    check((await page.locator('main svg[role=img] polyline').count()) === 5, 'overview: the severity chart has a line per level');

    // overview → advisory (from a firing alert) → image → workload.
    await page.locator('main table').filter({ hasText: 'Rule' }).getByRole('link', { name: want.alertAdvisory }).first().click();
    check(page.url().endsWith(`/advisories/${want.alertAdvisory}`), `advisory: at ${page.url()}`);
    await visit('advisory', [want.alertAdvisory, want.alertImage, 'Running workloads', 'staging', 'denied']);
    await page.getByRole('link', { name: want.alertImage }).first().click();
    await visit('image', [want.alertImage, 'Where it runs', 'staging', 'Base-image lineage']);
    await page.locator('#runs + div').getByRole('link', { name: want.alertWorkload }).first().click();
    check(new URL(page.url()).pathname === '/workloads', `workload: at ${page.url()}`);
    await visit('workload', [`Workload ${want.alertWorkload}`, want.cluster, want.alertAdvisory, 'deny']);

    // The table, filtered through its form (the URL carries the filter).
    await page.getByRole('link', { name: 'Mapping table' }).click();
    await visit('table', [want.image, want.toolchain]);
    await page.getByRole('link', { name: want.image }).first().click();
    await visit('image-apis', [want.image, want.builder, want.advisory, 'API surface', want.api, 'production']);
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
    await visit('waivers', ['browser-owner', 'fixed in the next release', 'in force']);
    await page.locator('tr', { hasText: 'browser-owner' }).getByRole('button', { name: /Revoke waiver/ }).click();
    await page.waitForURL(`${base}/waivers`);
    check(!(await page.textContent('main')).includes('browser-owner'), 'the revoked waiver is still listed as in force');

    await page.getByLabel('Search').fill(want.alias);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(`${base}/advisories/${want.alias}`);
    await visit('search', [want.advisory]);

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
