/**
 * The README's picture of the history report: the demo history (harness/history-demo.ts) rendered
 * by `history` and photographed in headless Chromium.
 *
 *   node scripts/history-screenshot.ts [--out docs/history-report.png] [--full]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { launchChromium } from '../harness/browser.ts';
import { writeHistoryDemo } from '../harness/history-demo.ts';
import { runCli } from '../lib/cli/cli.ts';

const { values } = parseArgs({
  options: { out: { type: 'string', default: 'docs/history-report.png' }, full: { type: 'boolean', default: false } },
});
const dir = await mkdtemp(join(tmpdir(), 'history-shot-'));
try {
  await writeHistoryDemo(join(dir, 'bucket'));
  const report = join(dir, 'report.html');
  const code = await runCli(['history', '--from', join(dir, 'bucket'), '--out', report], {
    env: {},
    stdout: () => {},
    stderr: (t) => process.stderr.write(t),
    isTTY: false,
    cwd: process.cwd(),
  });
  if (code !== 0) throw new Error(`history exited ${code}`);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1160, height: 1300 }, deviceScaleFactor: 1 });
    await page.goto(pathToFileURL(report).href, { waitUntil: 'load' });
    await page.screenshot({ path: values.out, fullPage: values.full });
  } finally {
    await browser.close();
  }
  process.stdout.write(`${values.out}\n`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
