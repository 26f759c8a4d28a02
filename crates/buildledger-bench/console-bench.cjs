// console-bench's browser side: sign in, then load each page of BL_PAGES
// (a JSON list of [name, path]) once unmeasured and BL_LOADS times measured,
// reading the navigation timing of each load. Prints one JSON object:
// name → {interactive: [ms], load: [ms], server: [ms], bytes, status}.
'use strict';
const path = require('path');
const { chromium } = require(path.join(process.env.BL_NODE_MODULES, 'playwright-core'));
const { BL_BASE: base, BL_TOKEN: token, BL_CHROMIUM: exe } = process.env;
const loads = Number(process.env.BL_LOADS || 10);
const pages = JSON.parse(process.env.BL_PAGES);

(async () => {
  const browser = await chromium.launch({ executablePath: exe, args: ['--no-sandbox'] });
  const out = {};
  try {
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${base}/login`);
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/`, { timeout: 120000 });
    for (const [name, p] of pages) {
      const r = { interactive: [], load: [], server: [], bytes: 0, status: 0 };
      for (let i = 0; i <= loads; i++) {
        const resp = await page.goto(`${base}${p}`, { waitUntil: 'load', timeout: 120000 });
        const t = await page.evaluate(() => {
          const n = performance.getEntriesByType('navigation')[0];
          return { interactive: n.domInteractive, load: n.loadEventEnd, server: n.responseStart - n.requestStart, bytes: n.transferSize || n.encodedBodySize };
        });
        r.status = resp ? resp.status() : 0;
        if (i === 0) continue;
        r.interactive.push(t.interactive);
        r.load.push(t.load);
        r.server.push(t.server);
        r.bytes = t.bytes;
      }
      out[name] = r;
    }
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(out));
})().catch((e) => {
  console.error(String((e && e.stack) || e));
  process.exit(1);
});
