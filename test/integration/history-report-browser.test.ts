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
    const charts = await page.$$eval('figure svg.marks', (svgs) =>
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
    const legends = await page.$$eval('figure svg.marks g.role-legend', (groups) =>
      groups.map((g) =>
        [...g.querySelectorAll('g.role-legend-symbol path')].map(
          (p) => `${p.getAttribute('fill')}|${p.getAttribute('stroke')}|${p.getAttribute('d')}`,
        ),
      ),
    );
    const labels = await page.$$eval('figure svg.marks', (svgs) =>
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
    await page.locator('details:not(.why) summary').first().click();
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
    // A failed run says why, in dbt's words: the failing node and its message.
    const why = await page.$$eval('h3 + .wide table', (tables) => {
      const failed = tables.find((t) => t.querySelector('th:last-child')?.textContent?.startsWith('why'));
      return failed ? [...failed.querySelectorAll('tbody tr td:last-child')].map((td) => td.textContent ?? '') : [];
    });
    expect(why.length).toBeGreaterThan(0);
    expect(why.filter((w) => /(fail|error): .+/.test(w)).length).toBeGreaterThan(why.length / 2);
  });

  it('answers a hover on a mark of every chart with its values', async () => {
    const charts = await page.$$('figure svg.marks');
    expect(charts.length).toBeGreaterThan(5);
    for (const [n, svg] of charts.entries()) {
      // The first mark with a title whose box is at least a pixel each way (a bar, a point, a line).
      const mark = await svg.evaluateHandle((el) =>
        [...el.querySelectorAll('path[role="graphics-symbol"]')].find((p) => {
          const box = p.getBoundingClientRect();
          return p.querySelector('title') && box.width >= 1 && box.height >= 1;
        }),
      );
      const element = mark.asElement();
      expect(element, `chart ${n} has a mark with values`).not.toBeNull();
      await element!.scrollIntoViewIfNeeded();
      const box = (await element!.boundingBox())!;
      const at = await element!.evaluate((p: unknown, b: { x: number; y: number; width: number; height: number }) => {
        const path = p as {
          getAttribute(name: string): string | null;
          getTotalLength(): number;
          getPointAtLength(n: number): { x: number; y: number };
          getScreenCTM(): { a: number; b: number; c: number; d: number; e: number; f: number } | null;
        };
        // A filled mark (a bar, a point) at its centre; a line (no fill) at a point of it.
        const filled = (path.getAttribute('fill') ?? 'none') !== 'none';
        const point = !filled && path.getTotalLength() > 0 ? path.getPointAtLength(path.getTotalLength() / 2) : null;
        const m = path.getScreenCTM();
        return point && m
          ? { x: point.x * m.a + point.y * m.c + m.e, y: point.x * m.b + point.y * m.d + m.f }
          : { x: b.x + b.width / 2, y: b.y + b.height / 2 };
      }, box);
      await page.mouse.move(at.x, at.y);
      const hovered = await page.evaluate(
        ({ x, y }) => {
          interface Node {
            tagName: string;
            closest(selector: string): Node | null;
            querySelector(selector: string): { textContent: string | null } | null;
          }
          const doc = (globalThis as unknown as { document: { elementFromPoint(x: number, y: number): Node | null } })
            .document;
          const hit = doc.elementFromPoint(x, y);
          const mark = hit?.closest('path[role="graphics-symbol"]');
          return mark?.querySelector('title')?.textContent ?? `no mark under the mouse (${hit?.tagName})`;
        },
        { x: at.x, y: at.y },
      );
      expect(hovered, `chart ${n}: what the mouse is over says its values`).toMatch(/\S+: \S+/);
    }
  });

  it('answers a hover on a line with its whole series (points, span, range), not with its first point', async () => {
    const lines = await page.$$eval('svg.marks path[aria-roledescription="line mark"] title', (ts) =>
      ts.map((t) => t.textContent ?? ''),
    );
    expect(lines.length).toBeGreaterThan(5);
    for (const line of lines)
      expect(line).toMatch(/^\w+: .+; \d+ points, \d{4}-\d{2}-\d{2} to \d{4}-\d{2}-\d{2}; from .+ to .+, median .+$/);
  });

  it('narrows every table and every job’s chart marks to the job chosen in the job filter, and back', async () => {
    const jobs = await page.$$eval('#job-filter option', (os) => os.map((o) => o.getAttribute('value') ?? ''));
    expect(jobs[0]).toBe('');
    expect(jobs.length).toBeGreaterThan(2);
    const visibleJobs = (selector = '[data-job]') =>
      page.$$eval(selector, (els) => els.filter((e) => e.checkVisibility()).map((e) => e.getAttribute('data-job')));
    const all = await visibleJobs('tr[data-job]');
    expect(new Set(all).size).toBe(jobs.length - 1);
    const marks = await visibleJobs('svg [data-job]');
    expect(new Set(marks).size).toBeGreaterThan(1);
    const job = jobs[1]!;
    await page.selectOption('#job-filter', job);
    const narrowed = await visibleJobs('tr[data-job]');
    expect(narrowed.length).toBeGreaterThan(0);
    expect(new Set(narrowed)).toEqual(new Set([job]));
    // The charts' lines and points of other jobs go too, those of this job stay.
    expect(new Set(await visibleJobs('svg [data-job]'))).toEqual(new Set([job]));
    expect(await page.textContent('#job-filter-note')).toMatch(/table rows shown/);
    await page.selectOption('#job-filter', '');
    expect(await visibleJobs('tr[data-job]')).toHaveLength(all.length);
    expect(await visibleJobs('svg [data-job]')).toHaveLength(marks.length);
  });

  it('narrows to one environment’s jobs in the environment filter, where jobs run in several', async () => {
    const envs = await page.$$eval('#env-filter option', (os) => os.map((o) => o.getAttribute('value') ?? ''));
    expect(envs.length).toBeGreaterThanOrEqual(3);
    const envOf = Object.fromEntries(
      await page.$$eval('#job-filter option[data-env]', (os) =>
        os.map((o) => [o.getAttribute('value'), o.getAttribute('data-env')]),
      ),
    );
    for (const env of envs.slice(1)) {
      await page.selectOption('#env-filter', env);
      const shown = await page.$$eval('tr[data-job]', (rows) =>
        rows.filter((r) => r.checkVisibility()).map((r) => r.getAttribute('data-job')!),
      );
      expect(shown.length).toBeGreaterThan(0);
      expect(new Set(shown.map((j) => envOf[j]))).toEqual(new Set([env]));
      // Only this environment's jobs can be chosen (hidden, and disabled where a browser shows hidden options).
      const choosable = await page.$$eval('#job-filter option[data-env]:not([disabled])', (os) =>
        os.map((o) => o.getAttribute('data-env')),
      );
      expect(new Set(choosable)).toEqual(new Set([env]));
    }
    await page.selectOption('#env-filter', '');
    expect(problems).toEqual([]);
  });

  it('opens a model’s view on a click on its name: its time over the period (each point saying its value), its tests, its coverage', async () => {
    const hiddenViews = await page.$$eval('.model-view', (vs) => vs.filter((v) => v.checkVisibility()).length);
    expect(hiddenViews).toBe(0);
    const link = page.locator('#models ~ .wide a[href^="#model-"]').first();
    const model = (await link.textContent())!;
    await link.click();
    const view = page.locator('.model-view:target');
    await expect.poll(() => view.count()).toBe(1);
    expect(await view.isVisible()).toBe(true);
    expect(await view.locator('h2').textContent()).toContain(model);
    // Its time over the period: a point a day or a week, each with its date and time.
    const points = await view.locator('svg.timeline circle title').allTextContents();
    expect(points.length).toBeGreaterThan(5);
    for (const p of points) expect(p).toMatch(/^\d{4}-\d{2}-\d{2}.*: \d.* (s|min|h).*\(median\)$/);
    const facts = Object.fromEntries(
      await view
        .locator('table.facts tr')
        .evaluateAll((rows) =>
          rows.map((r) => [r.querySelector('th')!.textContent, r.querySelector('td')!.textContent]),
        ),
    );
    expect(Object.keys(facts)).toEqual([
      'job',
      'last execution time',
      'last 7 days against the 28 before',
      'coverage now',
      'tests failing now',
      'flaky tests',
    ]);
    expect(facts['last execution time']).toMatch(/^\d.* \(\w+, run \d+\)$/);
    // Back to the models closes it.
    await view.locator('a[href="#models"]').click();
    await expect.poll(() => page.locator('.model-view:target').count()).toBe(0);
    expect(problems).toEqual([]);
  });

  it('fits a phone (390 px): no sideways scroll of the page, wide tables scroll in their own box', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      const width = await page.evaluate(
        () =>
          (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement
            .scrollWidth,
      );
      expect(width).toBeLessThanOrEqual(390);
      // Chart text stays readable: the charts shrink to 640 px at most, then scroll in their box.
      const scale = await page.$$eval('figure svg.marks', (svgs) =>
        Math.min(...svgs.map((svg) => svg.getBoundingClientRect().width / Number(svg.getAttribute('width')))),
      );
      expect(scale).toBeGreaterThanOrEqual(0.6);
      // A model's view open fits too.
      const view = await page.$eval('a[href^="#model-"]', (a) => a.getAttribute('href')!);
      await page.evaluate((hash) => {
        (globalThis as unknown as { location: { hash: string } }).location.hash = hash;
      }, view);
      await expect.poll(() => page.locator('.model-view:target').count()).toBe(1);
      expect(
        await page.evaluate(
          () =>
            (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document
              .documentElement.scrollWidth,
        ),
      ).toBeLessThanOrEqual(390);
      await page.evaluate(() => {
        (globalThis as unknown as { location: { hash: string } }).location.hash = '';
      });
    } finally {
      await page.setViewportSize({ width: 1280, height: 900 });
    }
  });
});
