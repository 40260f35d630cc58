/**
 * A month of a realistic dbt project's runs, stored as the harvester stores them, for the demo, the
 * README screenshot, the browser test and the benchmarks: three jobs (a daily production build with
 * freshness and docs, an hourly incremental job, pull-request CI), whose runs fail and recover, a
 * model that gets slower, a test that fails for days then recovers, a flaky test, a source that goes
 * stale, documentation that grows, and a refactor that adds an undocumented model.
 *
 * Each run gets `_run.json` (the dbt Cloud API's run), its steps' summary.json and coverage.json,
 * and its row in the history rollup, all made by the product's own code (core/) from facts drawn
 * here; the artifacts themselves are not written. With `rowsOnly`, only the rows (for benchmarks of
 * a year of runs).
 * @module
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { summarize, type CatalogFacts, type ManifestFacts, type ManifestTable } from '../lib/coverage/coverage.ts';
import { historyRow, runForRow, type StepFacts } from '../lib/core/history-row.ts';
import { HISTORY_ROOT, historyRowPath, runDirectory } from '../lib/core/paths.ts';
import { STEP_SUMMARY_FILE, summarizeStep, type NodeResult, type SourceFreshness } from '../lib/core/run-facts.ts';
import { seededRandom as random } from './fake-dbt-cloud/prng.ts';

export interface DemoOptions {
  /** The last day (UTC) of the history. */
  end?: Date;
  days?: number;
  /** Write only the history rows (benchmarks). */
  rowsOnly?: boolean;
  /** More jobs like the hourly one (benchmarks: `extraJobs` × 24 runs a day). */
  extraJobs?: number;
  /** Runs a day of each extra job (default 24). */
  extraRunsPerDay?: number;
}

const ACCOUNT = 43_001;
const PROJECT = 270_001;
const PROD_ENV = 218_001;
const CI_ENV = 218_002;

interface Model {
  name: string;
  seconds: number;
  columns: string[];
  hourly: boolean;
  /** The day it first exists (the refactor). */
  from?: number;
}

const MODELS: Model[] = [
  ['stg_customers', 4, ['customer_id', 'customer_name', 'created_at', 'country'], true],
  [
    'stg_orders',
    9,
    ['order_id', 'customer_id', 'location_id', 'ordered_at', 'subtotal', 'tax_paid', 'order_total'],
    true,
  ],
  ['stg_order_items', 12, ['order_item_id', 'order_id', 'product_id', 'quantity'], true],
  ['stg_payments', 7, ['payment_id', 'order_id', 'payment_method', 'amount', 'paid_at'], true],
  ['stg_products', 2, ['product_id', 'product_name', 'product_type', 'price'], false],
  ['stg_supplies', 2, ['supply_id', 'product_id', 'supply_name', 'supply_cost', 'perishable'], false],
  ['stg_locations', 1, ['location_id', 'location_name', 'tax_rate', 'opened_at'], false],
  ['int_order_payments', 14, ['order_id', 'total_paid', 'payment_count', 'last_paid_at'], true],
  [
    'int_customer_orders',
    18,
    ['customer_id', 'first_order_at', 'last_order_at', 'order_count', 'lifetime_spend'],
    true,
  ],
  [
    'orders',
    26,
    [
      'order_id',
      'customer_id',
      'ordered_at',
      'order_total',
      'is_food_order',
      'is_drink_order',
      'customer_order_number',
    ],
    true,
  ],
  ['order_items', 21, ['order_item_id', 'order_id', 'product_id', 'product_price', 'supply_cost', 'margin'], true],
  ['customers', 16, ['customer_id', 'customer_name', 'count_lifetime_orders', 'lifetime_spend', 'customer_type'], true],
  [
    'fct_orders',
    45,
    ['order_id', 'customer_id', 'location_id', 'ordered_at', 'order_total', 'payment_status', 'days_to_pay'],
    false,
  ],
  ['fct_payments', 19, ['payment_id', 'order_id', 'payment_method', 'amount', 'paid_at', 'is_refund'], false],
  ['dim_customers', 11, ['customer_id', 'customer_name', 'country', 'first_order_at', 'segment'], false],
  ['dim_products', 3, ['product_id', 'product_name', 'product_type', 'price', 'is_active'], false],
  ['dim_locations', 2, ['location_id', 'location_name', 'tax_rate', 'opened_at', 'region'], false],
  ['mart_revenue_daily', 33, ['revenue_date', 'location_id', 'orders', 'revenue', 'refunds', 'net_revenue'], false],
  ['mart_customer_ltv', 38, ['customer_id', 'cohort_month', 'ltv_30d', 'ltv_90d', 'ltv_365d', 'predicted_ltv'], false],
  ['mart_product_margin', 17, ['product_id', 'month', 'units', 'revenue', 'cost', 'margin'], false],
].map(([name, seconds, columns, hourly]) => ({
  name: name as string,
  seconds: seconds as number,
  columns: columns as string[],
  hourly: hourly as boolean,
}));
/** The refactor of day 20: a wide mart, undocumented and untested. */
const REFACTOR_DAY = 24;
MODELS.push({
  name: 'mart_marketing_attribution',
  seconds: 52,
  hourly: false,
  from: REFACTOR_DAY,
  columns: [
    'order_id',
    'customer_id',
    'channel',
    'campaign',
    'first_touch_at',
    'last_touch_at',
    'touches',
    'attributed_revenue',
    'model_version',
    'utm_source',
    'utm_medium',
    'utm_campaign',
    'landing_page',
    'device',
  ],
});

const SOURCES = ['customers', 'orders', 'order_items', 'payments', 'products', 'supplies', 'locations'].map(
  (t) => `source.jaffle_shop.ecom.raw_${t}`,
);
const STRIPE = 'source.jaffle_shop.stripe.payments';
const STALE_FROM = 25;

const model = (m: Model) => `model.jaffle_shop.${m.name}`;

/** The tests of a model: not_null and unique on its key, not_null on a second column; two specials. */
function testsOf(m: Model): string[] {
  const key = m.columns[0]!;
  const out = [`test.jaffle_shop.not_null_${m.name}_${key}`, `test.jaffle_shop.unique_${m.name}_${key}`];
  if (m.columns[1] && m.name !== 'mart_marketing_attribution')
    out.push(`test.jaffle_shop.not_null_${m.name}_${m.columns[1]}`);
  if (m.name === 'stg_payments') out.push('test.jaffle_shop.accepted_values_stg_payments_payment_method');
  return out;
}

const UNIT_TESTS = [
  'unit_test.jaffle_shop.orders.test_order_total',
  'unit_test.jaffle_shop.customers.test_lifetime_spend',
];

/** Which columns are documented on day `d` (documentation grows; the refactor's model has none). */
function documented(m: Model, d: number, days: number): Set<string> {
  if (m.from !== undefined) return new Set();
  const share = 0.42 + (0.36 * d) / Math.max(1, days - 1);
  return new Set(m.columns.filter((_, i) => (i + 1) / m.columns.length <= share + (m.name.length % 3) * 0.05));
}

interface JobSpec {
  id: number;
  name: string;
  environment: number;
  trigger: string;
  runsOn: (day: number, r: () => number) => number[];
  steps: string[];
}

export async function writeHistoryDemo(
  root: string,
  options: DemoOptions = {},
): Promise<{ runs: number; jobs: number }> {
  const days = options.days ?? 30;
  const end = options.end ?? new Date(Date.UTC(2026, 10, 29));
  const start = new Date(end.getTime() - (days - 1) * 86_400_000);
  const r = random(20261129);
  const jobs: JobSpec[] = [
    {
      id: 70100,
      name: 'Production daily build',
      environment: PROD_ENV,
      trigger: 'Triggered by the schedule',
      runsOn: () => [5 * 60 + 2],
      steps: ['dbt source freshness', 'dbt build', 'dbt docs generate'],
    },
    {
      id: 70101,
      name: 'Hourly incremental',
      environment: PROD_ENV,
      trigger: 'Triggered by the schedule',
      runsOn: () => Array.from({ length: 24 }, (_, h) => h * 60 + 15),
      steps: ['dbt source freshness', 'dbt run --select tag:hourly', 'dbt test --select tag:hourly'],
    },
    {
      id: 70102,
      name: 'CI: pull requests',
      environment: CI_ENV,
      trigger: 'Triggered by a pull request',
      runsOn: (_d, rr) =>
        Array.from({ length: 2 + Math.floor(rr() * 6) }, () => 8 * 60 + Math.floor(rr() * 600)).sort((a, b) => a - b),
      steps: ['dbt build --select state:modified+'],
    },
  ];
  for (let j = 0; j < (options.extraJobs ?? 0); j++)
    jobs.push({
      id: 71000 + j,
      name: `Incremental ${j + 1}`,
      environment: PROD_ENV,
      trigger: 'Triggered by the schedule',
      runsOn: () =>
        Array.from(
          { length: options.extraRunsPerDay ?? 24 },
          (_, h) => Math.floor((h * 1440) / (options.extraRunsPerDay ?? 24)) + (j % 50),
        ),
      steps: ['dbt run --select tag:hourly', 'dbt test --select tag:hourly'],
    });
  let runId = 400_000_000;
  let runs = 0;
  const write = async (path: string, text: string) => {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  };
  for (let d = 0; d < days; d++) {
    const day = new Date(start.getTime() + d * 86_400_000);
    for (const job of jobs) {
      for (const minute of job.runsOn(d, r)) {
        const id = runId++;
        const created = new Date(day.getTime() + minute * 60_000);
        const queued = job.id === 70101 && minute % 360 === 15 ? 120 + r() * 300 : 4 + r() * 40;
        const started = new Date(created.getTime() + queued * 1000);
        const ci = job.environment === CI_ENV;
        const cancelled = ci && r() < 0.05;
        const facts: StepFacts[] = [];
        const stepRows: { index: number; name: string; status: number }[] = [
          { index: 1, name: 'Clone git repository', status: 10 },
          { index: 2, name: 'Create profile from connection', status: 10 },
          { index: 3, name: 'Invoke dbt with `dbt deps`', status: 10 },
        ];
        let elapsed = 25 + r() * 10;
        let failed = false;
        job.steps.forEach((command, i) => {
          const index = 4 + i;
          if (failed || cancelled) {
            stepRows.push({ index, name: `Invoke dbt with \`${command}\``, status: cancelled ? 30 : 20 });
            return;
          }
          const step = runStep({ command, day: d, days, r, ci, hourly: job.id >= 70101 && !ci });
          elapsed += step.seconds;
          failed = step.failed;
          stepRows.push({ index, name: `Invoke dbt with \`${command}\``, status: step.failed ? 20 : 10 });
          facts.push({ index, results: step.results, sources: step.sources, coverage: null, catalog: false });
          if (command === 'dbt docs generate') {
            const { manifest, catalog } = projectOn(d, days);
            facts[facts.length - 1] = {
              ...facts[facts.length - 1]!,
              coverage: summarize(manifest, catalog, { finishedAt: null, jobName: job.name }),
              catalog: true,
            };
          }
        });
        const finished = new Date(started.getTime() + elapsed * 1000);
        const status = cancelled ? 30 : failed ? 20 : 10;
        const iso = (t: Date) => `${t.toISOString().slice(0, 10)} ${t.toISOString().slice(11, 23)}000+00:00`;
        const run = {
          id,
          account_id: ACCOUNT,
          project_id: PROJECT,
          environment_id: job.environment,
          job_definition_id: job.id,
          status,
          status_humanized: status === 10 ? 'Success' : status === 20 ? 'Error' : 'Cancelled',
          created_at: iso(created),
          started_at: iso(started),
          finished_at: iso(finished),
          href: `https://cloud.getdbt.com/deploy/${ACCOUNT}/projects/${PROJECT}/runs/${id}/`,
          git_branch: ci ? `feature/change-${id % 97}` : 'main',
          trigger: { cause: job.trigger },
          job: { id: job.id, name: job.name, project_id: PROJECT, environment_id: job.environment },
          run_steps: stepRows.map((s) => ({ ...s, id: id * 10 + s.index, run_id: id })),
          artifacts_saved: true,
        };
        const row = historyRow(runForRow(run), facts);
        const place = { runId: id, jobId: job.id, finishedAt: finished };
        await write(historyRowPath(place), `${JSON.stringify(row)}\n`);
        if (!options.rowsOnly) {
          const dir = runDirectory(place);
          await write(`${dir}/_run.json`, `${JSON.stringify(run)}\n`);
          for (const f of facts) {
            const command = job.steps[f.index - 4] ?? null;
            if (f.results || f.sources)
              await write(
                `${dir}/step=${f.index}/${STEP_SUMMARY_FILE}`,
                `${JSON.stringify(summarizeStep({ index: f.index, command }, f.results, f.sources))}\n`,
              );
            if (f.coverage) await write(`${dir}/step=${f.index}/coverage.json`, `${JSON.stringify(f.coverage)}\n`);
          }
        }
        runs++;
      }
    }
  }
  // Every run has its row: the history need not look for runs without one.
  await write(`${HISTORY_ROOT}/built/at=demo.json`, `${JSON.stringify({ rows: runs })}\n`);
  return { runs, jobs: jobs.length };
}

/** One dbt step's results and freshness, on day `d`. */
function runStep(s: { command: string; day: number; days: number; r: () => number; ci: boolean; hourly: boolean }): {
  results: { generatedAt: string | null; elapsedSeconds: number; results: NodeResult[] } | null;
  sources: { generatedAt: null; results: SourceFreshness[] } | null;
  seconds: number;
  failed: boolean;
} {
  const { command, day, r } = s;
  if (command === 'dbt source freshness') {
    const results: SourceFreshness[] = [...SOURCES, STRIPE].map((id) => {
      const stale = id === STRIPE && day >= STALE_FROM;
      const lag = stale ? (day - STALE_FROM + 1) * 9 * 3600 + r() * 3600 : 1800 + r() * 7200;
      return {
        id,
        status: lag > 24 * 3600 ? 'error' : lag > 12 * 3600 ? 'warn' : 'pass',
        lagSeconds: Math.round(lag),
        maxLoadedAt: null,
      };
    });
    return { results: null, sources: { generatedAt: null, results }, seconds: 8 + r() * 4, failed: false };
  }
  if (command === 'dbt docs generate')
    return {
      results: { generatedAt: null, elapsedSeconds: 30, results: [] },
      sources: null,
      seconds: 30 + r() * 10,
      failed: false,
    };
  const models = MODELS.filter((m) => (m.from === undefined || day >= m.from) && (!s.hourly || m.hourly)).filter(
    () => !s.ci || r() < 0.35,
  );
  const runsModels = !command.startsWith('dbt test');
  const runsTests = command.startsWith('dbt test') || command.startsWith('dbt build');
  const results: NodeResult[] = [];
  let seconds = 0;
  let failed = false;
  if (runsModels)
    for (const m of models) {
      // fct_orders gets slower: by half over the month, then twice as slow in the last week.
      let base = m.seconds * (s.hourly ? 0.25 : 1);
      if (m.name === 'fct_orders') base *= (1 + day / s.days / 2) * (day >= s.days - 7 ? 2 : 1);
      const t = Math.round(base * (0.9 + r() * 0.2) * 100) / 100;
      const error = s.ci && r() < 0.06;
      failed ||= error;
      results.push({
        id: model(m),
        status: error ? 'error' : 'success',
        seconds: t,
        bytesProcessed: Math.round(t * 2.1e8),
        slotMs: Math.round(t * 4100),
        message: error ? `Database Error in model ${m.name}: column "discount" does not exist` : null,
      });
      seconds += t / 4;
    }
  if (runsTests)
    for (const m of models) {
      for (const test of testsOf(m)) {
        let status = 'pass';
        if (test.endsWith('not_null_orders_customer_id') && day >= 12 && day <= 15) status = 'fail';
        // A test that started failing three days before the end, and still does.
        if (test.endsWith('unique_fct_payments_payment_id') && day >= s.days - 3) status = 'fail';
        if (test.endsWith('accepted_values_stg_payments_payment_method') && r() < 0.25)
          status = r() < 0.5 ? 'warn' : 'fail';
        if (s.ci && r() < 0.02) status = 'error';
        if (status === 'fail' || status === 'error') failed = true;
        results.push({
          id: test,
          status,
          seconds: 0.4 + r(),
          bytesProcessed: null,
          slotMs: null,
          message: status === 'pass' ? null : `Got ${1 + Math.floor(r() * 40)} results, configured to fail if != 0`,
        });
      }
    }
  if (runsTests && !s.hourly)
    for (const ut of UNIT_TESTS) {
      const status = ut.includes('customers') && day >= REFACTOR_DAY && day <= REFACTOR_DAY + 1 ? 'fail' : 'pass';
      results.push({
        id: ut,
        status,
        seconds: 0.8,
        bytesProcessed: null,
        slotMs: null,
        message: status === 'fail' ? 'actual differs from expected' : null,
      });
    }
  return {
    results: { generatedAt: null, elapsedSeconds: seconds, results },
    sources: null,
    seconds: seconds + 5,
    failed,
  };
}

/** The project's manifest and catalog facts on day `d`: what coverage reads. */
function projectOn(d: number, days: number): { manifest: ManifestFacts; catalog: CatalogFacts } {
  const present = MODELS.filter((m) => m.from === undefined || d >= m.from);
  const tables = new Map<string, ManifestTable>();
  const tests = new Map<string, Map<string, number>>();
  for (const m of present) {
    tables.set(model(m), {
      uniqueId: model(m),
      resourceType: 'model',
      name: `analytics.${m.name}`,
      path: `models/${m.name.split('_')[0]}/${m.name}.sql`,
      documented: documented(m, d, days),
    });
    const perColumn = new Map<string, number>();
    for (const t of testsOf(m)) {
      const column = m.columns.find((c) => t.endsWith(`_${c}`)) ?? m.columns[0]!;
      perColumn.set(column, (perColumn.get(column) ?? 0) + 1);
    }
    tests.set(model(m), perColumn);
  }
  const unitTests = new Map([
    ['model.jaffle_shop.orders', 1],
    ['model.jaffle_shop.customers', 1],
  ]);
  const manifest: ManifestFacts = {
    dbtVersion: '1.9.4',
    schemaVersion: 'https://schemas.getdbt.com/dbt/manifest/v12.json',
    projectName: 'jaffle_shop',
    generatedAt: null,
    tables,
    tests,
    unitTests,
    models: {
      total: present.length,
      documented: present.filter((m) => documented(m, d, days).size > 0).length,
      tested: present.length,
      tests: present.reduce((n, m) => n + testsOf(m).length, 0),
      unitTests: UNIT_TESTS.length,
      unitTested: 2,
    },
  };
  const catalog: CatalogFacts = { tables: present.map((m) => ({ uniqueId: model(m), columns: m.columns })) };
  return { manifest, catalog };
}
