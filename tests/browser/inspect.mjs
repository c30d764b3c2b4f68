// Opens pages of an HTML report in Debian's headless Chromium and says what
// a person would see: console errors, uncaught exceptions, every network
// request the page made, how many elements match given selectors, the text
// of others, and a screenshot. Used by tests/html_report.rs.
//
//   node inspect.mjs SPEC.json
//
// SPEC: {"chromium": "/usr/bin/chromium", "pages": [{"file": "/abs/report.html",
//   "screenshot": "/abs/shot.png", "width": 1100, "height": 1400,
//   "full_page": false, "count": ["table.calls tbody tr"],
//   "text": ["table.calls tbody tr:first-child td:nth-child(3)"],
//   "click": "table.calls th:nth-child(3)", "body": true}]}
// Prints one JSON object: {"pages": [{"console_errors": [...], "page_errors":
// [...], "requests": [...], "counts": {...}, "texts": {...},
// "texts_after_click": {...}, "title": "...", "body_text": "..." (with
// "body": the page's title and all its visible text)}]}.
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
// The flags a closed network needs: no background connections at start.
const browser = await chromium.launch({
  executablePath: spec.chromium,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const out = { pages: [] };
try {
  for (const p of spec.pages) {
    const context = await browser.newContext({
      viewport: { width: p.width || 1100, height: p.height || 1400 },
    });
    const page = await context.newPage();
    const seen = { console_errors: [], page_errors: [], requests: [], counts: {}, texts: {}, texts_after_click: {} };
    page.on('console', (m) => { if (m.type() === 'error') seen.console_errors.push(m.text()); });
    page.on('pageerror', (e) => seen.page_errors.push(String(e)));
    page.on('request', (r) => seen.requests.push(r.url()));
    const url = 'file://' + p.file;
    await page.goto(url, { waitUntil: 'load' });
    // The document itself is the one request a self-contained page makes.
    seen.requests = seen.requests.filter((u) => u !== url);
    const textsOf = async (into) => {
      for (const sel of p.text || []) {
        into[sel] = await page.locator(sel).first().textContent().catch(() => null);
      }
    };
    for (const sel of p.count || []) seen.counts[sel] = await page.locator(sel).count();
    await textsOf(seen.texts);
    if (p.body) {
      seen.title = await page.title();
      seen.body_text = await page.locator('body').innerText();
    }
    if (p.screenshot) await page.screenshot({ path: p.screenshot, fullPage: !!p.full_page });
    if (p.click) {
      await page.locator(p.click).first().click();
      await textsOf(seen.texts_after_click);
    }
    out.pages.push(seen);
    await context.close();
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out) + '\n');
