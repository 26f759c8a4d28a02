// The web console in a real browser (Debian's chromium driven by
// playwright-core): sign in, click overview → table → image → advisory →
// search, assert what each page shows, run axe-core in each page (no
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
    await visit('overview', ['Overview', 'Images', 'Findings']);

    await page.getByRole('link', { name: 'Mapping table' }).click();
    await visit('table', [want.image, want.toolchain]);
    await page.getByRole('link', { name: want.image }).first().click();
    await visit('image', [want.image, want.builder, want.advisory]);
    await page.getByRole('link', { name: want.advisory }).first().click();
    check(page.url().endsWith(`/advisories/${want.advisory}`), `advisory: at ${page.url()}`);
    await visit('advisory', [want.advisory, want.image]);

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
