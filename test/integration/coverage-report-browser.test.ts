import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPath, launchChromium } from '../../harness/browser.ts';
import { writeCoverageDemo } from '../../harness/coverage-demo.ts';
import { emulatorRequired } from '../../harness/services.ts';
import { cli } from '../cli.ts';

/**
 * The HTML report in a real headless Chromium (Debian's package, which .ci/run installs): it opens
 * offline, asks for nothing over the network, logs no error, and draws its charts.
 */
const available = chromiumPath() !== undefined;
if (!available && emulatorRequired())
  throw new Error('CI=true: Chromium is required for the report test (apt-get install -y chromium)');

let dir: string;
let browser: Browser;
let report: string;

describe.skipIf(!available)('the coverage report in Chromium', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'report-'));
    await writeCoverageDemo(join(dir, 'bucket'));
    report = join(dir, 'report.html');
    const res = await cli(['coverage', 'history', '--from', join(dir, 'bucket'), '--out', report], {});
    if (res.code !== 0) throw new Error(res.stderr);
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('renders every chart and table, with no console error and no request beyond the file', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('request', (r) => {
      if (!r.url().startsWith('file://')) problems.push(`request to ${r.url()}`);
    });
    await page.goto(pathToFileURL(report).href, { waitUntil: 'load' });
    expect(await page.title()).toBe('dbt coverage history');
    const charts = await page.$$eval('figure svg', (svgs) =>
      svgs.map((svg) => {
        const box = svg.getBoundingClientRect();
        return {
          width: box.width,
          height: box.height,
          lines: svg.querySelectorAll('path[aria-roledescription="line mark"], g.mark-line path').length,
          labels: [...svg.querySelectorAll('text')].map((t) => t.textContent ?? ''),
        };
      }),
    );
    expect(charts).toHaveLength(5);
    for (const c of charts) {
      expect(c.width).toBeGreaterThan(600);
      expect(c.height).toBeGreaterThan(150);
      // One line per job, and both jobs named in the legend.
      expect(c.lines).toBe(2);
      expect(c.labels.some((l) => l.includes('Nightly build (Production)'))).toBe(true);
    }
    const drops = await page.$$eval('h2 + table tbody tr', (rows) => rows.length);
    expect(drops).toBeGreaterThan(0);
    expect(await page.locator('text=orders_enriched').count()).toBeGreaterThan(0);
    expect(problems).toEqual([]);
    await page.close();
  });
});
