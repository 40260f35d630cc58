import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPath, launchChromium } from '../../harness/browser.ts';
import { writeHistoryDemo } from '../../harness/history-demo.ts';
import { emulatorRequired } from '../../harness/services.ts';
import { cli } from '../cli.ts';

/**
 * The history report in a real headless Chromium (Debian's package, which .ci/run installs), as a
 * reader sees it: it opens offline, asks for nothing over the network, logs no error; each chart
 * gives each series its own colour and a legend whose names are whole; numbers sit right-aligned
 * under their headers; long tables are folded; failed runs link to their page in dbt Cloud.
 */
const available = chromiumPath() !== undefined;
if (!available && emulatorRequired())
  throw new Error('CI=true: Chromium is required for the report test (apt-get install -y chromium)');

let dir: string;
let browser: Browser;
let page: Page;
const problems: string[] = [];

describe.skipIf(!available)('the history report in Chromium', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'report-'));
    await writeHistoryDemo(join(dir, 'bucket'));
    const report = join(dir, 'report.html');
    const res = await cli(['history', '--from', join(dir, 'bucket'), '--out', report, '--read-only'], {});
    if (res.code !== 0) throw new Error(res.stderr);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('request', (r) => {
      if (!r.url().startsWith('file://')) problems.push(`request to ${r.url()}`);
    });
    await page.goto(pathToFileURL(report).href, { waitUntil: 'load' });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('opens offline, with no error and no request, and draws every chart whole', async () => {
    expect(await page.title()).toBe('dbt run history');
    const charts = await page.$$eval('figure svg', (svgs) =>
      svgs.map((svg) => {
        const box = svg.getBoundingClientRect();
        const texts = [...svg.querySelectorAll('text')].map((t) => t.getBoundingClientRect());
        return {
          width: box.width,
          height: box.height,
          // Text drawn outside the picture is cut.
          outside: texts.filter((t) => t.width > 0 && (t.right > box.right + 1 || t.left < box.left - 1)).length,
        };
      }),
    );
    expect(charts.length).toBeGreaterThanOrEqual(9);
    for (const c of charts) {
      expect(c.width).toBeGreaterThan(600);
      expect(c.height).toBeGreaterThan(150);
      expect(c.outside).toBe(0);
    }
    expect(problems).toEqual([]);
  });

  it('gives every series of a chart its own colour, and names each whole in its legend', async () => {
    // Each legend's symbols: colour and shape (a legend of shapes draws them in one colour).
    const legends = await page.$$eval('figure svg g.role-legend', (groups) =>
      groups.map((g) =>
        [...g.querySelectorAll('g.role-legend-symbol path')].map(
          (p) => `${p.getAttribute('fill')}|${p.getAttribute('stroke')}|${p.getAttribute('d')}`,
        ),
      ),
    );
    const labels = await page.$$eval('figure svg', (svgs) =>
      svgs.map((svg) => [...svg.querySelectorAll('g.role-legend-label text')].map((t) => t.textContent ?? '')),
    );
    expect(legends.filter((l) => l.length > 1).length).toBeGreaterThanOrEqual(6);
    for (const [i, symbols] of legends.entries())
      expect(new Set(symbols).size, `legend ${i}: ${symbols}`).toBe(symbols.length);
    const all = labels.flat();
    expect(all).toContain('Production daily build (70100)');
    expect(all.some((l) => l.includes('fct_orders'))).toBe(true);
    expect(all.filter((l) => l.endsWith('…'))).toEqual([]);
  });

  it('aligns numbers right, under their headers, and folds long tables', async () => {
    const misaligned = await page.$$eval('table', (tables) =>
      tables.flatMap((table) => {
        const heads = [...table.querySelectorAll('thead th')];
        return [...table.querySelectorAll('tbody tr')].flatMap((tr) =>
          [...tr.querySelectorAll('td')].flatMap((td, i) => {
            const th = heads[i]!;
            if (!td.classList.contains('num')) return [];
            const a = td.getBoundingClientRect();
            const b = th.getBoundingClientRect();
            if (a.width === 0) return [];
            const right = (el: typeof td) => el.ownerDocument.defaultView!.getComputedStyle(el).textAlign;
            return right(td) === 'right' && right(th) === 'right' && Math.abs(a.right - b.right) < 1
              ? []
              : [`${th.textContent}: ${td.textContent}`];
          }),
        );
      }),
    );
    expect(misaligned).toEqual([]);
    const folded = await page.$$eval('details', (ds) =>
      ds.map((d) => ({ open: d.open, rows: d.querySelectorAll('tbody tr').length })),
    );
    expect(folded.length).toBeGreaterThan(2);
    for (const d of folded) expect(d.open).toBe(false);
    // Folded rows are not shown until asked for.
    const shown = await page.$$eval('details tbody tr', (rows) => rows.filter((r) => r.checkVisibility()).length);
    expect(shown).toBe(0);
    await page.locator('details summary').first().click();
    expect(
      await page.$$eval('details[open] tbody tr', (rows) => rows.filter((r) => r.checkVisibility()).length),
    ).toBeGreaterThan(0);
  });

  it('links failed runs to their page in dbt Cloud, and shows what the month held', async () => {
    const links = await page.$$eval('a[href^="https://cloud.getdbt.com/deploy/"]', (as) => as.length);
    expect(links).toBeGreaterThan(5);
    for (const text of [
      'fct_orders',
      'unique_fct_payments_payment_id',
      'stripe.payments',
      'mart_marketing_attribution',
    ])
      expect(await page.locator(`text=${text}`).count(), text).toBeGreaterThan(0);
  });
});
