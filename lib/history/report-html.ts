/**
 * The history as one self-contained HTML file: how a project's runs go (run health, model timings,
 * test results, source freshness) and how it is documented and tested (coverage). Charts are drawn
 * by Vega-Lite and rendered to SVG here: no script, no network, the file opens offline and prints.
 *
 * For reading: every series has its own colour (Tableau's 20; a chart draws at most the 20 busiest
 * jobs or the 8 slowest models, and says so), legends list whole names under the chart, numbers
 * are right-aligned under right-aligned headers in tabular figures, and a table shows its first
 * rows with the rest folded in a <details> element. A chart draws a job's runs one by one while it
 * has at most RECENT_RUNS in the window, and its days (medians) beyond that.
 * @module
 */
import { RECENT_RUNS } from './aggregate.ts';
import { byDocumentation, type History } from './history.ts';
import { safeRunLink, type HistoryRow } from '../core/history-row.ts';

export interface ReportOptions {
  /** What was read (a folder or gs:// URL). */
  source: string;
  generatedAt: Date;
  /** Most tables listed per job in the latest coverage (lowest coverage first). */
  maxTables?: number;
  /** Only the coverage part (`coverage history`): its charts, drops and per-table figures. */
  coverageOnly?: boolean;
}

const esc = (text: unknown): string =>
  String(text ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
const pct = (v: number | null | undefined): string =>
  v === null || v === undefined ? '–' : `${(v * 100).toFixed(1)}%`;
const time = (iso: string): string => `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
const secs = (s: number | null | undefined): string => {
  if (s === null || s === undefined) return '–';
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(Math.round(s % 60)).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.round((s % 3600) / 60)).padStart(2, '0')} min`;
};
const bytes = (n: number): string =>
  n >= 1e12 ? `${(n / 1e12).toFixed(2)} TB` : n >= 1e9 ? `${(n / 1e9).toFixed(2)} GB` : `${(n / 1e6).toFixed(1)} MB`;
const shortId = (id: string): string => id.split('.').slice(2).join('.') || id;
const link = (row: { href: string | null; runId: number }): string => {
  const href = safeRunLink(row.href);
  return href ? `<a href="${esc(href)}">${row.runId}</a>` : String(row.runId);
};

/** The longest window drawn an hour at a time (a bar a day would be one or two giant bars). */
const HOURLY_SPAN = 2 * 86_400_000;

/** Time axes labelled with dates, or with times over a window of hours (never a column of "12 PM"). */
const DAYS = { format: '%b %d' };
const HOURS = { format: '%b %d %H:%M' };

/** The x channel of a chart of runs: when each finished. */
const runTime = (c: { hourly: boolean }) => ({
  field: 'at',
  type: 'temporal',
  title: 'run finished (UTC)',
  axis: c.hourly ? HOURS : DAYS,
  scale: { type: 'utc' },
});

/** The palettes: ten clearly distinct colours, or twenty (in pairs of shades) for more series. */
const MAX_SERIES = 20;

/** A column of a table: its header, whether it holds numbers (right-aligned), its cell. */
interface Column<T> {
  header: string;
  numeric?: boolean;
  cell: (row: T) => string;
}

/**
 * Why a run failed: its first failing nodes and dbt's message for each, shortened, the whole text
 * one click away; a dash when the run's files say nothing (a step that failed before dbt ran).
 */
function reasons(nodes: readonly { id: string; status: string; message: string | null }[] | undefined): string {
  if (!nodes || nodes.length === 0) return '–';
  const short = (text: string) => (text.length > 160 ? `${text.slice(0, 159)}…` : text);
  const line = (n: { id: string; status: string; message: string | null }) =>
    `<code>${esc(shortId(n.id))}</code> ${esc(n.status)}${n.message ? `: ${esc(short(n.message.replace(/\s+/g, ' ')))}` : ''}`;
  const first = nodes.slice(0, 2).map(line).join('<br>');
  const whole = nodes.some((n) => (n.message?.length ?? 0) > 160) || nodes.length > 2;
  if (!whole) return first;
  return `${first}<details class="why"><summary>whole text</summary><pre>${nodes
    .map((n) => esc(`${n.id} ${n.status}${n.message ? `\n${n.message}` : ''}`))
    .join('\n\n')}</pre></details>`;
}

/** A row's job, as the job filter reads it (`data-job`), when the row is of one job. */
function jobOf(row: unknown): string {
  const r = row as { jobId?: unknown; job_id?: unknown };
  const job = typeof r.jobId === 'number' ? r.jobId : typeof r.job_id === 'number' ? r.job_id : null;
  return job === null ? '' : ` data-job="${job}"`;
}

/**
 * The filters: a job <select> naming every job, and an environment <select> where the jobs run in
 * several; choosing hides every table row and chart mark of another job (they carry `data-job`),
 * and the sections of other jobs' per-table coverage. The daily totals (runs by outcome, test
 * results) stay totals of every job, and say so. No request, no library: the page stays one file
 * that works offline.
 */
function jobFilter(c: ReportContext): string {
  const { f, label } = c;
  if (f.jobs.length < 2) return '';
  const envOf = (j: (typeof f.jobs)[number]) => j.last.environmentId ?? '';
  const options = f.jobs
    .map((j) => `<option value="${j.jobId}" data-env="${envOf(j)}">${esc(label(j.jobId))} (${j.runs} runs)</option>`)
    .join('');
  const environments = [...new Set(f.jobs.map(envOf))].filter((e) => e !== '').sort((a, b) => Number(a) - Number(b));
  const envSelect =
    environments.length < 2
      ? ''
      : ` <label>Environment <select id="env-filter"><option value="">All environments</option>${environments
          .map((e) => `<option value="${e}">environment ${e}</option>`)
          .join('')}</select></label>`;
  return `<p class="filter"><label>Job <select id="job-filter"><option value="">All jobs</option>${options}</select></label>${envSelect} <span class="note" id="job-filter-note"></span></p>
<script>
(function () {
  var jobSelect = document.getElementById('job-filter');
  var envSelect = document.getElementById('env-filter');
  var envOf = {};
  jobSelect.querySelectorAll('option[data-env]').forEach(function (o) { envOf[o.value] = o.getAttribute('data-env'); });
  function apply() {
    var job = jobSelect.value;
    var env = envSelect ? envSelect.value : '';
    if (job && env && envOf[job] !== env) { jobSelect.value = ''; job = ''; }
    jobSelect.querySelectorAll('option[data-env]').forEach(function (o) { o.hidden = o.disabled = !!env && o.getAttribute('data-env') !== env; });
    var shown = 0;
    document.querySelectorAll('[data-job]').forEach(function (el) {
      var j = el.getAttribute('data-job');
      var on = (!job || j === job) && (!env || envOf[j] === env);
      if (on) el.removeAttribute('data-off'); else el.setAttribute('data-off', '');
      if (on && el.tagName === 'TR') shown++;
    });
    document.getElementById('job-filter-note').textContent = job || env
      ? shown + ' table rows shown; the daily totals (runs by outcome, test results) are of every job.'
      : '';
  }
  jobSelect.addEventListener('change', apply);
  if (envSelect) envSelect.addEventListener('change', apply);
})();
</script>`;
}

/** A table of its first `shown` rows, the rest folded under a <details>. */
function table<T>(columns: Column<T>[], rows: readonly T[], options: { shown?: number; empty: string }): string {
  if (rows.length === 0) return `<p class="note">${options.empty}</p>`;
  const shown = options.shown ?? 10;
  const head = `<thead><tr>${columns.map((c) => `<th${c.numeric ? ' class="num"' : ''}>${esc(c.header)}</th>`).join('')}</tr></thead>`;
  const body = (part: readonly T[]) =>
    `<tbody>${part.map((r) => `<tr${jobOf(r)}>${columns.map((c) => `<td${c.numeric ? ' class="num"' : ''}>${c.cell(r)}</td>`).join('')}</tr>`).join('')}</tbody>`;
  // Each table in a box of its own that scrolls sideways on a narrow screen, never the page.
  const first = `<div class="wide"><table>${head}${body(rows.slice(0, shown))}</table></div>`;
  if (rows.length <= shown) return first;
  return `${first}<details><summary>${rows.length - shown} more</summary><div class="wide"><table>${head}${body(rows.slice(shown))}</table></div></details>`;
}

/** Jobs drawn together in one chart; more are drawn as small multiples, a row a job. */
const OVERLAID_JOBS = 6;

/**
 * A chart of one line per job: over one plot while there are at most OVERLAID_JOBS, a row a job
 * beyond (each row its own y scale, the job named above it), where a dozen lines were spaghetti.
 * `layer` and `encoding` are the plot's; values carry the job's label in `job`.
 */
function perJob(
  values: readonly object[],
  jobs: number,
  plot: { layer?: object[]; mark?: object; encoding: Record<string, unknown> },
): Record<string, unknown> {
  if (jobs <= OVERLAID_JOBS) return { data: { values }, ...plot };
  return {
    data: { values },
    facet: {
      row: {
        field: 'job',
        type: 'nominal',
        title: null,
        header: { labelAngle: 0, labelAlign: 'left', labelOrient: 'top', labelAnchor: 'start', labelFontSize: 11 },
      },
    },
    spacing: 6,
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 860,
      height: 48,
      ...plot,
      encoding: { ...plot.encoding, color: { ...(plot.encoding['color'] as object), legend: null } },
    },
  };
}

/**
 * A Vega-Lite spec rendered to SVG; `jobs` (each job's label to its id) tags the marks of one job
 * for the job filter.
 */
async function chart(spec: Record<string, unknown>, series = 10, jobs?: ReadonlyMap<string, number>): Promise<string> {
  const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
  const faceted = 'facet' in spec;
  const compiled = vl.compile({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(faceted ? {} : { width: 860, height: 220 }),
    background: 'white',
    // Room for the last date under the axis.
    padding: { left: 5, top: 5, right: 30, bottom: 5 },
    config: {
      font: 'Helvetica, Arial, sans-serif',
      axis: { labelFontSize: 11, titleFontSize: 11 },
      legend: { orient: 'bottom', direction: 'horizontal', columns: 2, labelLimit: 0, symbolLimit: 0, titleLimit: 0 },
      range: { category: { scheme: series <= 10 ? 'tableau10' : 'tableau20' } },
    },
    ...spec,
  } as Parameters<typeof vl.compile>[0]).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return withTitles(await view.toSVG(), jobs);
  } finally {
    view.finalize();
  }
}

/**
 * Each mark of a chart answers a hover with its values: the description Vega-Lite gives it (every
 * field it encodes: "day (UTC): Nov 20, 2026; runs: 24; outcome: success") as its SVG `<title>`,
 * which the browser shows, in the page itself, with no script.
 */
export function withTitles(svg: string, jobs?: ReadonlyMap<string, number>): string {
  return svg.replace(
    /<path([^>]*?) aria-label="([^"]*)"([^>]*?role="graphics-symbol"[^>]*?)\/>/g,
    (_m, before: string, label: string, after: string) => {
      const job = jobs ? jobOfMark(label, jobs) : undefined;
      return `<path${before} aria-label="${label}"${after}${job === undefined ? '' : ` data-job="${job}"`}><title>${label}</title></path>`;
    },
  );
}

/**
 * The job a mark is of, from its description's `job: LABEL` field (LABEL one of `jobs`, followed by
 * "; " or the end): the field is matched against the jobs' whole labels, never parsed, so that a
 * name holding "; ", "&" or digits in brackets cannot name another job.
 */
export function jobOfMark(escapedLabel: string, jobs: ReadonlyMap<string, number>): number | undefined {
  const label = escapedLabel.replace(/&(amp|lt|gt|quot|#39);/g, (_m, e: string) =>
    e === 'amp' ? '&' : e === 'lt' ? '<' : e === 'gt' ? '>' : e === 'quot' ? '"' : "'",
  );
  for (
    let at = label.startsWith('job: ') ? 0 : label.indexOf('; job: ');
    at >= 0;
    at = label.indexOf('; job: ', at + 1)
  ) {
    const from = at === 0 && label.startsWith('job: ') ? 5 : at + 7;
    for (let end = label.indexOf('; ', from); ; end = label.indexOf('; ', end + 1)) {
      const id = jobs.get(end < 0 ? label.slice(from) : label.slice(from, end));
      if (id !== undefined) return id;
      if (end < 0) break;
    }
  }
  return undefined;
}

/**
 * Each value with its series' summary (`summary`), which the series' line answers a hover with: a
 * line is one mark, which Vega would describe by its first point alone. Begins with the series'
 * field and name ("job: Nightly (70100); …"), which the job filter reads.
 */
function summarized<T extends { at: string }>(
  values: readonly T[],
  series: keyof T & string,
  value: keyof T & string,
  shown: (v: number) => string,
): (T & { summary: string })[] {
  const bySeries = new Map<unknown, T[]>();
  for (const v of values) {
    const list = bySeries.get(v[series]);
    if (list) list.push(v);
    else bySeries.set(v[series], [v]);
  }
  const summaries = new Map<unknown, string>();
  for (const [name, list] of bySeries) {
    const numbers = list.map((v) => v[value] as number).sort((a, b) => a - b);
    const times = list.map((v) => v.at).sort();
    summaries.set(
      name,
      `${series}: ${String(name)}; ${list.length} points, ${times[0]!.slice(0, 10)} to ${times.at(-1)!.slice(0, 10)}; from ${shown(numbers[0]!)} to ${shown(numbers.at(-1)!)}, median ${shown(numbers[Math.floor(numbers.length / 2)]!)}`,
    );
  }
  return values.map((v) => ({ ...v, summary: summaries.get(v[series])! }));
}

const figure = (svg: string, note?: string): string =>
  `<figure>${svg}${note ? `<figcaption class="note">${esc(note)}</figcaption>` : ''}</figure>`;

/** A line per series over days (`at`), a point a day: one figure with its caption. */
async function dailyLines<T extends { at: string }>(
  values: readonly T[],
  y: { field: keyof T & string; title: string },
  series: keyof T & string,
  note: string,
): Promise<string> {
  return figure(
    await chart(
      {
        data: { values: summarized(values, series, y.field, (v) => v.toFixed(1)) },
        layer: [
          { mark: { type: 'line', strokeWidth: 1.5 }, encoding: { description: { field: 'summary' } } },
          { mark: { type: 'point', filled: true, size: 20 } },
        ],
        encoding: {
          x: { field: 'at', type: 'temporal', title: 'day (UTC)', axis: DAYS, scale: { type: 'utc' } },
          y: { field: y.field, type: 'quantitative', title: y.title },
          color: { field: series, type: 'nominal', title: series },
        },
      },
      new Set(values.map((v) => v[series])).size,
    ),
    note,
  );
}

/**
 * Counts stacked by category, each category in its own colour, a bar a day (`date`, a day) or, over
 * a window of hours, a bar an hour (`date`, an ISO time): one figure.
 */
async function periodBars<T extends { date: string }>(
  values: readonly T[],
  y: { field: keyof T & string; title: string },
  by: { field: keyof T & string; colours: Record<string, string> },
  hourly: boolean,
): Promise<string> {
  return figure(
    await chart({
      data: { values },
      mark: { type: 'bar' },
      encoding: {
        x: hourly
          ? { field: 'date', type: 'temporal', timeUnit: 'utcyearmonthdatehours', title: 'hour (UTC)' }
          : { field: 'date', type: 'temporal', timeUnit: 'utcyearmonthdate', title: 'day (UTC)' },
        y: { field: y.field, type: 'quantitative', stack: 'zero', title: y.title },
        color: {
          field: by.field,
          type: 'nominal',
          title: by.field,
          scale: { domain: Object.keys(by.colours), range: Object.values(by.colours) },
        },
      },
    }),
  );
}

/**
 * Counts summed by period and category: a day's from the days' figures, or over a window of hours
 * an hour's (the aggregate keeps the last two days' hours).
 */
function perPeriod<K extends string>(
  c: ReportContext,
  kinds: readonly K[],
  ofDay: (d: ReportContext['f']['days'][number], k: K) => number,
  ofHour: (h: ReportContext['f']['hours'][number], k: K) => number,
): { date: string; kind: K; count: number }[] {
  const sums = new Map<string, number>();
  const add = (date: string, k: K, n: number) => {
    if (n > 0) sums.set(`${date}|${k}`, (sums.get(`${date}|${k}`) ?? 0) + n);
  };
  if (c.hourly) for (const h of c.f.hours) for (const k of kinds) add(h.hour, k, ofHour(h, k));
  else for (const d of c.f.days) for (const k of kinds) add(d.date, k, ofDay(d, k));
  return [...sums].map(([key, count]) => {
    const [date, kind] = key.split('|') as [string, K];
    return { date, kind, count };
  });
}

const jobLabel = (names: Map<number, string | null>, jobId: number): string => {
  const name = names.get(jobId);
  return name ? `${name} (${jobId})` : `job ${jobId}`;
};

/** What every section of the report reads: the figures, and how jobs are named and charted. */
interface ReportContext {
  history: History;
  f: History['figures'];
  options: ReportOptions;
  label: (jobId: number) => string;
  /** Jobs charted: the MAX_SERIES busiest. */
  charted: Set<number>;
  chartNote: string | undefined;
  /** Jobs drawn a day (median) at a time: those with more than RECENT_RUNS runs here. */
  byDay: Set<number>;
  days: History['figures']['days'];
  recent: History['figures']['recent'];
  series: number;
  /** The window is a few hours (at most HOURLY_SPAN): totals drawn an hour at a time. */
  hourly: boolean;
  /** Each job's label (as its charts name it) to its id: the job filter's tags on chart marks. */
  jobIds: ReadonlyMap<string, number>;
  /** The anchor of a model's view (`#model-N`), where the report has one. */
  viewOf: (jobId: number, model: string) => string | null;
}

const noon = (date: string) => `${date}T12:00:00Z`;

/** Run health: per job, runs per day by outcome, duration and queue time, the runs that failed. */
async function runHealthSection(c: ReportContext): Promise<string[]> {
  const { f, label, chartNote, byDay, days, recent, series } = c;
  const sections: string[] = [];

  const durationValues = [
    ...recent
      .filter((r) => r.durationSeconds !== null)
      .map((r) => ({ at: r.finishedAt, value: r.durationSeconds! / 60, job: label(r.jobId), status: r.status })),
    ...days
      .filter((d) => d.durationMedian !== null)
      .map((d) => ({ at: noon(d.date), value: d.durationMedian! / 60, job: label(d.jobId), status: 'day' })),
  ];
  const queueValues = [
    ...recent
      .filter((r) => r.queuedSeconds !== null)
      .map((r) => ({ at: r.finishedAt, value: r.queuedSeconds!, job: label(r.jobId) })),
    ...days
      .filter((d) => d.queuedMedian !== null)
      .map((d) => ({ at: noon(d.date), value: d.queuedMedian!, job: label(d.jobId) })),
  ];
  const outcomes = perPeriod(
    c,
    ['success', 'error', 'cancelled'] as const,
    (d, k) => d[k],
    (h, k) => h[k],
  ).map((p) => ({ date: p.date, outcome: p.kind, runs: p.count }));
  const perRunNote =
    byDay.size === 0
      ? 'Each run.'
      : `Each run; for jobs with more than ${RECENT_RUNS} runs here (${[...byDay].map(label).join(', ')}), each day's median.`;
  const jobsTable = table(
    [
      { header: 'job', cell: (j) => esc(label(j.jobId)) },
      { header: 'runs', numeric: true, cell: (j) => String(j.runs) },
      { header: 'success', numeric: true, cell: (j) => pct(j.success / j.runs) },
      { header: 'errors', numeric: true, cell: (j) => String(j.error) },
      { header: 'cancelled', numeric: true, cell: (j) => String(j.cancelled) },
      { header: 'last run', cell: (j) => `${link(j.last)} ${time(j.last.finishedAt)}` },
      { header: 'last status', cell: (j) => `<span class="${j.last.status}">${j.last.status}</span>` },
      { header: 'last duration', numeric: true, cell: (j) => secs(j.last.durationSeconds) },
    ],
    f.jobs,
    { empty: 'No run.' },
  );
  sections.push(`<h2 id="runs">Run health</h2>${jobsTable}`);
  if (outcomes.length > 0)
    sections.push(
      `<h3>Runs per ${c.hourly ? 'hour' : 'day'}, by outcome</h3>${await periodBars(
        outcomes,
        { field: 'runs', title: 'runs' },
        { field: 'outcome', colours: { success: '#2da44e', error: '#cf222e', cancelled: '#8c959f' } },
        c.hourly,
      )}`,
    );
  if (durationValues.length > 0)
    sections.push(
      `<h3>Duration</h3>${figure(
        await chart(
          perJob(
            summarized(durationValues, 'job', 'value', (v) => `${v.toFixed(1)} min`),
            series,
            {
              layer: [
                { mark: { type: 'line', strokeWidth: 1.5 }, encoding: { description: { field: 'summary' } } },
                {
                  mark: { type: 'point', filled: true, size: 28 },
                  transform: [{ filter: "datum.status === 'error' || datum.status === 'cancelled'" }],
                  encoding: {
                    shape: {
                      field: 'status',
                      type: 'nominal',
                      title: 'run',
                      scale: { domain: ['error', 'cancelled'] },
                    },
                  },
                },
              ],
              encoding: {
                x: runTime(c),
                y: { field: 'value', type: 'quantitative', title: 'minutes' },
                color: { field: 'job', type: 'nominal', title: 'job' },
              },
            },
          ),
          series,
          c.jobIds,
        ),
        `${perRunNote} Marked: runs that failed or were cancelled. ${chartNote ?? ''}`.trim(),
      )}`,
    );
  if (queueValues.some((v) => v.value > 0))
    sections.push(
      `<h3>Queue time</h3>${figure(
        await chart(
          perJob(
            summarized(queueValues, 'job', 'value', (v) => `${v.toFixed(0)} s`),
            series,
            {
              mark: { type: 'line', strokeWidth: 1.5 },
              encoding: {
                description: { field: 'summary' },
                x: runTime(c),
                y: { field: 'value', type: 'quantitative', title: 'seconds waiting to start' },
                color: { field: 'job', type: 'nominal', title: 'job' },
              },
            },
          ),
          series,
          c.jobIds,
        ),
        perRunNote,
      )}`,
    );
  sections.push(
    `<h3>Runs that failed</h3>${table(
      [
        { header: 'run', cell: (r: HistoryRow) => link(r) },
        { header: 'job', cell: (r) => esc(label(r.jobId)) },
        { header: 'finished', cell: (r) => time(r.finishedAt) },
        { header: 'status', cell: (r) => `<span class="${r.status}">${r.status}</span>` },
        { header: 'at step', cell: (r) => (r.failedStep ? esc(`${r.failedStep.index}: ${r.failedStep.name}`) : '–') },
        { header: 'tests failed', numeric: true, cell: (r) => String(r.tests.fail + r.tests.error) },
        { header: 'models failed', numeric: true, cell: (r) => String(r.models.error) },
        { header: 'why, in dbt’s words', cell: (r) => reasons(c.history.failureReasons.get(r.runId)) },
      ],
      f.failures,
      { empty: 'No run failed.' },
    )}`,
  );

  return sections;
}

/** Models: the slowest over time and now, regressions, bytes processed, models added and removed. */
async function modelsSection(c: ReportContext): Promise<string[]> {
  const { history, f, label } = c;
  const sections: string[] = [];

  const modelLines = f.modelSeries.map((s) => ({
    at: `${s.date}T12:00:00Z`,
    seconds: s.seconds,
    model: `${shortId(s.model)} (${label(s.jobId)})`,
  }));
  sections.push(`<h2 id="models">Models</h2>`);
  if (modelLines.length > 0)
    sections.push(
      `<h3>Execution time of the slowest models</h3>${await dailyLines(
        modelLines,
        { field: 'seconds', title: 'seconds (daily median)' },
        'model',
        'The slowest models of each job’s last run, and the largest regressions: each day’s median execution time.',
      )}`,
    );
  sections.push(
    `<h3>Slowest models now</h3>${table(
      [
        { header: 'model', cell: (m) => modelLink(c, m.jobId, m.model) },
        { header: 'job', cell: (m) => esc(label(m.jobId)) },
        { header: 'execution time', numeric: true, cell: (m) => secs(m.seconds) },
        { header: 'status', cell: (m) => esc(m.status) },
      ],
      f.slowestNow,
      { empty: 'No run results with timings.' },
    )}`,
  );
  sections.push(
    `<h3>Regressions</h3><p class="note">Median of the last 7 days against the 28 days before (each day's median), 20 % slower or more.</p>${table(
      [
        { header: 'model', cell: (r) => modelLink(c, r.jobId, r.model) },
        { header: 'job', cell: (r) => esc(label(r.jobId)) },
        { header: 'before', numeric: true, cell: (r) => secs(r.before) },
        { header: 'last 7 days', numeric: true, cell: (r) => secs(r.after) },
        { header: 'change', numeric: true, cell: (r) => `<span class="bad">+${(r.change * 100).toFixed(0)}%</span>` },
      ],
      f.regressions,
      { empty: 'No model got slower.' },
    )}`,
  );
  const costByJob = new Map<number, number>();
  for (const d of f.days) costByJob.set(d.jobId, (costByJob.get(d.jobId) ?? 0) + d.bytesProcessed);
  if ([...costByJob.values()].some((b) => b > 0))
    sections.push(
      `<h3>Bytes processed</h3>${table(
        [
          { header: 'job', cell: ([jobId]: [number, number]) => esc(label(jobId)) },
          { header: 'bytes processed', numeric: true, cell: ([, b]) => bytes(b) },
        ],
        [...costByJob].filter(([, b]) => b > 0).sort((a, b) => b[1] - a[1]),
        { empty: '' },
      )}`,
    );
  sections.push(
    `<h3>Models added and removed</h3>${table(
      [
        { header: 'job', cell: (c) => esc(label(c.jobId)) },
        { header: 'runs', cell: (c) => `${c.fromRun} → ${c.toRun}` },
        { header: 'finished', cell: (c) => time(c.finishedAt) },
        { header: 'added', cell: (c) => c.added.map((m) => `<code>${esc(m)}</code>`).join('<br>') || '–' },
        { header: 'removed', cell: (c) => c.removed.map((m) => `<code>${esc(m)}</code>`).join('<br>') || '–' },
      ],
      history.modelChanges,
      { empty: 'The same models ran in each job’s last runs.' },
    )}`,
  );

  return sections;
}

/** Tests: results per day, failing now, flaky tests. */
async function testsSection(c: ReportContext): Promise<string[]> {
  const { f, label } = c;
  const sections: string[] = [];

  const results = ['pass', 'warn', 'fail', 'error', 'skipped'] as const;
  const testBars = perPeriod(
    c,
    results,
    (d, k) => d.tests[k] + d.unitTests[k],
    (h, k) => h.tests[k],
  ).map((p) => ({ date: p.date, result: p.kind, tests: p.count }));
  const colours = { pass: '#2da44e', warn: '#d4a72c', fail: '#cf222e', error: '#8250df', skipped: '#8c959f' };
  const unit = c.hourly ? 'hour' : 'day';
  sections.push(`<h2 id="tests">Tests</h2>`);
  if (testBars.length > 0)
    sections.push(
      `<h3>Test results per ${unit}</h3>${await periodBars(
        testBars,
        { field: 'tests', title: 'test results (data and unit tests)' },
        { field: 'result', colours },
        c.hourly,
      )}`,
    );
  // Failures on their own scale: beside thousands of passes, a few failures are a pixel high.
  const notPassed = testBars.filter((b) => b.result === 'warn' || b.result === 'fail' || b.result === 'error');
  if (notPassed.length > 0)
    sections.push(
      `<h3>Tests that did not pass, per ${unit}</h3>${await periodBars(
        notPassed,
        { field: 'tests', title: 'warnings, failures and errors' },
        { field: 'result', colours: { warn: colours.warn, fail: colours.fail, error: colours.error } },
        c.hourly,
      )}`,
    );
  sections.push(
    `<h3>Failing now</h3>${table(
      [
        { header: 'test', cell: (t) => `<code>${esc(t.test)}</code>` },
        { header: 'job', cell: (t) => esc(label(t.jobId)) },
        { header: 'result', cell: (t) => `<span class="bad">${esc(t.status)}</span>` },
        { header: 'since', cell: (t) => `${time(t.since)} (run ${t.sinceRun})` },
        { header: 'runs failing', numeric: true, cell: (t) => String(t.runs) },
      ],
      f.failingNow,
      { empty: 'No test is failing in the last run of its job.' },
    )}`,
  );
  sections.push(
    `<h3>Flaky tests</h3><p class="note">Tests whose result changed at least four times between consecutive runs of a job (running the same number of tests) in the last 28 days.</p>${table(
      [
        { header: 'test', cell: (t) => `<code>${esc(t.test)}</code>` },
        { header: 'job', cell: (t) => esc(label(t.jobId)) },
        { header: 'changes', numeric: true, cell: (t) => String(t.flips) },
        { header: 'failed', numeric: true, cell: (t) => `${t.failures} of ${t.runs} runs` },
      ],
      f.flaky,
      { empty: 'No flaky test.' },
    )}`,
  );

  return sections;
}

/** Source freshness: the largest lag per day, and what is past its threshold now. */
async function freshnessSection(c: ReportContext): Promise<string[]> {
  const { f } = c;
  const sections: string[] = [];

  const lagLines = f.sourceSeries.map((s) => ({
    at: `${s.date}T12:00:00Z`,
    hours: s.lagSeconds / 3600,
    source: shortId(s.source),
  }));
  const latestCheck = new Map<string, (typeof f.freshnessNow)[number]>();
  for (const c of f.freshnessNow) {
    const known = latestCheck.get(c.source);
    if (!known || known.finishedAt < c.finishedAt) latestCheck.set(c.source, c);
  }
  const stale = [...latestCheck.values()].filter((c) => c.status !== 'pass');
  sections.push(`<h2 id="freshness">Source freshness</h2>`);
  if (lagLines.length > 0)
    sections.push(
      `<h3>Largest lag per day</h3>${await dailyLines(
        lagLines,
        { field: 'hours', title: 'hours since the last load' },
        'source',
        'The 8 sources with the largest lag: max_loaded_at’s age at each check, the day’s largest.',
      )}`,
    );
  sections.push(
    `<h3>Past their threshold now</h3>${table(
      [
        { header: 'source', cell: (s) => `<code>${esc(s.source)}</code>` },
        { header: 'status', cell: (s) => `<span class="bad">${esc(s.status)}</span>` },
        { header: 'lag', numeric: true, cell: (s) => secs(s.lagSeconds) },
        { header: 'checked', cell: (s) => `${time(s.finishedAt)} (run ${s.runId})` },
      ],
      stale,
      {
        empty:
          f.freshnessNow.length > 0
            ? 'Every source passed its last check.'
            : 'No freshness check (dbt source freshness) stored.',
      },
    )}`,
  );

  return sections;
}

/** Coverage: documentation, test and unit-test coverage over time, the largest drops, per table. */
async function coverageSection(c: ReportContext): Promise<string[]> {
  const { history, options, label, days, recent, series } = c;
  const sections: string[] = [];

  const coverageValues = [
    ...recent.flatMap((r) => [
      { at: r.finishedAt, kind: 'doc', value: r.doc, job: label(r.jobId) },
      { at: r.finishedAt, kind: 'test', value: r.test, job: label(r.jobId) },
      { at: r.finishedAt, kind: 'unit-test', value: r.unitTest, job: label(r.jobId) },
    ]),
    ...days.flatMap((d) => [
      { at: noon(d.date), kind: 'doc', value: d.doc, job: label(d.jobId) },
      { at: noon(d.date), kind: 'test', value: d.test, job: label(d.jobId) },
      { at: noon(d.date), kind: 'unit-test', value: d.unitTest, job: label(d.jobId) },
    ]),
  ].filter((v) => v.value !== null);
  sections.push(`<h2 id="coverage">Coverage</h2>`);
  for (const [kind, title, note] of [
    [
      'doc',
      'Documentation coverage',
      'Columns with a description, over all columns of the catalog (dbt-coverage doc).',
    ],
    ['test', 'Test coverage', 'Columns with at least one test, over all columns (dbt-coverage test).'],
    ['unit-test', 'Unit-test coverage', 'Models with a dbt unit test, over all models (dbt-coverage unit-test).'],
  ] as const) {
    const values = coverageValues.filter((v) => v.kind === kind);
    if (values.length === 0) continue;
    sections.push(
      `<h3>${title}</h3>${figure(
        await chart(
          {
            data: { values: summarized(values, 'job', 'value', pct) },
            layer: [
              {
                mark: { type: 'line', interpolate: 'step-after', strokeWidth: 1.5 },
                encoding: { description: { field: 'summary' } },
              },
              ...(values.length <= 400 ? [{ mark: { type: 'point', filled: true, size: 20 } }] : []),
            ],
            encoding: {
              x: runTime(c),
              y: {
                field: 'value',
                type: 'quantitative',
                title: 'coverage',
                axis: { format: '%' },
                scale: { domain: [0, 1] },
              },
              color: { field: 'job', type: 'nominal', title: 'job' },
            },
          },
          series,
          c.jobIds,
        ),
        note,
      )}`,
    );
  }
  sections.push(
    `<h3>Largest drops between consecutive runs</h3>${table(
      [
        { header: 'job', cell: (d) => esc(label(d.job_id)) },
        { header: 'coverage', cell: (d) => (d.kind === 'doc' ? 'documentation' : 'tests') },
        { header: 'finished', cell: (d) => time(d.finished_at) },
        { header: 'runs', cell: (d) => `${d.from_run} → ${d.to_run}` },
        { header: 'before', numeric: true, cell: (d) => pct(d.before) },
        { header: 'after', numeric: true, cell: (d) => pct(d.after) },
        { header: 'change', numeric: true, cell: (d) => `<span class="bad">${(d.change * 100).toFixed(1)} pt</span>` },
        {
          header: 'models that lost it',
          cell: (d) =>
            d.tables
              .map(
                (t) =>
                  `<code>${esc(t.name)}</code> +${t.lost} ${d.kind === 'doc' ? 'undocumented' : 'untested'}${t.columns_before === null ? ' (new)' : ''}`,
              )
              .join('<br>') || '–',
        },
      ],
      history.drops,
      { empty: 'No run lowered a coverage.' },
    )}`,
  );
  const maxTables = options.maxTables ?? 200;
  for (const l of history.latest) {
    const tables = [...l.tables].sort(byDocumentation);
    sections.push(
      `<div data-job="${l.job_id}"><h3>Per table: ${esc(label(l.job_id))}, run ${l.run_id} (${time(l.finished_at)})</h3>${table(
        [
          { header: 'table', cell: (t) => modelLink(c, l.job_id, t.unique_id, t.name) },
          { header: 'columns', numeric: true, cell: (t) => String(t.columns) },
          { header: 'documented', numeric: true, cell: (t) => pct(t.columns ? t.documented / t.columns : null) },
          { header: 'tested', numeric: true, cell: (t) => pct(t.columns ? t.tested / t.columns : null) },
          { header: 'tests', numeric: true, cell: (t) => String(t.tests) },
          {
            header: 'unit tests',
            numeric: true,
            cell: (t) => (t.unit_tests === undefined ? '–' : String(t.unit_tests)),
          },
        ],
        tables.slice(0, maxTables),
        { empty: 'No table.' },
      )}${l.tables_total > Math.min(maxTables, tables.length) ? `<p class="note">${l.tables_total - Math.min(maxTables, tables.length)} more tables not listed.</p>` : ''}</div>`,
    );
  }

  return sections;
}

/** A model's name, a link to its view where the report has one. */
function modelLink(c: ReportContext, jobId: number, model: string, shown = model): string {
  const view = c.viewOf(jobId, model);
  return view ? `<a href="#${view}"><code>${esc(shown)}</code></a>` : `<code>${esc(shown)}</code>`;
}

/**
 * The model a test is named after, as dbt names generic tests (`{test}_{model}_{column}`: e.g.
 * `not_null_orders_id` of `orders`): of the models named in `models`, the one whose name comes
 * first in the test's as whole words, the longer where two start together, so that
 * `not_null_stg_orders_id` is `stg_orders`' and `relationships_orders_customer_id__…_customers_`
 * is `orders`'. Undefined when none is named.
 */
export function testOwner(test: string, models: ReadonlySet<string>): string | undefined {
  const name = test.split('.')[2] ?? test;
  let best: { model: string; at: number } | undefined;
  for (const m of models) {
    for (let at = name.indexOf(m); at >= 0; at = name.indexOf(m, at + 1)) {
      const whole =
        (at === 0 || name[at - 1] === '_') && (at + m.length === name.length || name[at + m.length] === '_');
      if (!whole) continue;
      if (!best || at < best.at || (at === best.at && m.length > best.model.length)) best = { model: m, at };
      break;
    }
  }
  return best?.model;
}

/**
 * A model's execution time over the period, drawn here (a view per model would cost Vega a second
 * each): a line of its daily medians, a point per day (per week past 120 days) whose <title> says
 * its date and time.
 */
export function timeline(series: readonly { date: string; seconds: number }[]): string {
  if (series.length === 0) return '<p class="note">No execution time stored for this model.</p>';
  let points = series.map((p) => ({ from: p.date, to: p.date, seconds: p.seconds }));
  if (points.length > 120) {
    const weeks: typeof points = [];
    for (let i = 0; i < points.length; i += 7) {
      const week = points.slice(i, i + 7);
      const sorted = week.map((p) => p.seconds).sort((a, b) => a - b);
      weeks.push({ from: week[0]!.from, to: week.at(-1)!.to, seconds: sorted[Math.floor(sorted.length / 2)]! });
    }
    points = weeks;
  }
  const w = 640;
  const h = 150;
  const left = 56;
  const bottom = 24;
  const top = Math.max(...points.map((p) => p.seconds)) || 1;
  const first = Date.parse(`${points[0]!.from}T00:00:00Z`);
  const span = Math.max(1, Date.parse(`${points.at(-1)!.from}T00:00:00Z`) - first);
  const x = (p: { from: string }) =>
    points.length === 1
      ? left + (w - left - 10) / 2
      : left + ((Date.parse(`${p.from}T00:00:00Z`) - first) / span) * (w - left - 10);
  const y = (v: number) => 8 + (1 - v / top) * (h - bottom - 8);
  const line = points.map((p) => `${x(p).toFixed(1)},${y(p.seconds).toFixed(1)}`).join(' ');
  const marks = points
    .map(
      (p) =>
        `<circle cx="${x(p).toFixed(1)}" cy="${y(p.seconds).toFixed(1)}" r="3" fill="#0969da"><title>${p.from === p.to ? p.from : `${p.from} to ${p.to}`}: ${esc(secs(p.seconds))} (median)</title></circle>`,
    )
    .join('');
  return `<figure><svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="execution time per ${points.length < series.length ? 'week' : 'day'}">
<text x="${left - 6}" y="${y(top) + 4}" text-anchor="end" font-size="11">${esc(secs(top))}</text><text x="${left - 6}" y="${y(0) + 4}" text-anchor="end" font-size="11">0 s</text>
<line x1="${left}" y1="${y(0)}" x2="${w - 10}" y2="${y(0)}" stroke="#d0d7de"/>
<text x="${left}" y="${h - 6}" font-size="11">${points[0]!.from}</text><text x="${w - 10}" y="${h - 6}" font-size="11" text-anchor="end">${points.at(-1)!.to}</text>
<polyline points="${line}" fill="none" stroke="#0969da" stroke-width="1.5"/>${marks}</svg><figcaption class="note">Execution time, each ${points.length < series.length ? 'week’s median of its days’ medians' : 'day’s median'} (UTC days); hover a point for its value.</figcaption></figure>`;
}

/**
 * A view of each model the report names with a time (the slowest now, the regressions): its time
 * over the period, its tests and its coverage. Opened by a click on its name (`#model-N`, shown by
 * CSS :target: no script).
 */
async function modelViewsSection(c: ReportContext): Promise<string[]> {
  const { f, history, label } = c;
  // Every model the report knows by name: a test goes to the longest it names.
  const known = new Set([
    ...f.modelViews.map((v) => shortId(v.model)),
    ...history.latest.flatMap((l) => l.tables.map((t) => shortId(t.unique_id))),
  ]);
  const owned = (test: string, model: string) => testOwner(test, known) === shortId(model);
  return f.modelViews.map((v) => {
    const id = c.viewOf(v.jobId, v.model)!;
    const now = f.slowestNow.find((s) => s.jobId === v.jobId && s.model === v.model);
    const regression = f.regressions.find((r) => r.jobId === v.jobId && r.model === v.model);
    const latest = history.latest.find((l) => l.job_id === v.jobId);
    const table = latest?.tables.find((t) => t.unique_id === v.model);
    const failing = f.failingNow.filter((t) => t.jobId === v.jobId && owned(t.test, v.model));
    const flaky = f.flaky.filter((t) => t.jobId === v.jobId && owned(t.test, v.model));
    const facts: [string, string][] = [
      ['job', esc(label(v.jobId))],
      ['last execution time', now ? `${secs(now.seconds)} (${esc(now.status)}, run ${now.runId})` : '–'],
      [
        'last 7 days against the 28 before',
        regression
          ? `<span class="bad">${secs(regression.before)} → ${secs(regression.after)} (+${(regression.change * 100).toFixed(0)}%)</span>`
          : 'no regression',
      ],
      [
        'coverage now',
        table
          ? `${table.columns} columns: ${pct(table.columns ? table.documented / table.columns : null)} documented, ${pct(table.columns ? table.tested / table.columns : null)} tested; ${table.tests} tests${table.unit_tests === undefined ? '' : `, ${table.unit_tests} unit tests`} (run ${latest!.run_id})`
          : latest
            ? 'not among the least covered tables listed for this job'
            : 'no coverage stored for this job',
      ],
      [
        'tests failing now',
        failing.length > 0
          ? failing
              .map(
                (t) => `<code>${esc(t.test)}</code> <span class="bad">${esc(t.status)}</span> since ${time(t.since)}`,
              )
              .join('<br>')
          : 'none',
      ],
      [
        'flaky tests',
        flaky.length > 0 ? flaky.map((t) => `<code>${esc(t.test)}</code> (${t.flips} changes)`).join('<br>') : 'none',
      ],
    ];
    return `<section class="model-view" id="${id}"><h2>Model <code>${esc(v.model)}</code></h2><p><a href="#models">back to the models</a></p>
${timeline(v.series)}<div class="wide"><table class="facts"><tbody>${facts.map(([k, val]) => `<tr><th>${k}</th><td>${val}</td></tr>`).join('')}</tbody></table></div>
<p class="note">Tests are those named after the model, as dbt names its generic tests (not_null_${esc(v.model.split('.').at(-1))}_…).</p></section>`;
  });
}

export async function renderHistoryHtml(history: History, options: ReportOptions): Promise<string> {
  return (await renderHistoryHtmlParts(history, options)).join('');
}

/**
 * The report as the parts it is made of, in order, to be written one after another: a year's
 * report joined into one string, then encoded whole, held 14 MB more at once than its parts.
 */
export async function renderHistoryHtmlParts(history: History, options: ReportOptions): Promise<string[]> {
  const f = history.figures;
  const names = new Map(f.jobs.map((j) => [j.jobId, j.jobName]));
  const label = (jobId: number) => jobLabel(names, jobId);
  const charted = new Set(f.jobs.slice(0, MAX_SERIES).map((j) => j.jobId));
  // A job's runs one by one while it has at most RECENT_RUNS here, its days beyond that.
  const byDay = new Set(f.jobs.filter((j) => j.runs > RECENT_RUNS).map((j) => j.jobId));
  const views = new Map(f.modelViews.map((v, i) => [`${v.jobId}\u0000${v.model}`, `model-${i + 1}`]));
  const c: ReportContext = {
    jobIds: new Map(f.jobs.map((j) => [label(j.jobId), j.jobId])),
    // The coverage report alone has no model view to open.
    viewOf: (jobId, model) => (options.coverageOnly ? null : (views.get(`${jobId}\u0000${model}`) ?? null)),
    history,
    f,
    options,
    label,
    charted,
    chartNote: f.jobs.length > MAX_SERIES ? `The ${MAX_SERIES} busiest of ${f.jobs.length} jobs.` : undefined,
    byDay,
    days: f.days.filter((d) => charted.has(d.jobId) && byDay.has(d.jobId)),
    recent: f.recent.filter((r) => charted.has(r.jobId) && !byDay.has(r.jobId)),
    series: Math.min(MAX_SERIES, f.jobs.length),
    hourly:
      byDay.size === 0 &&
      f.first !== null &&
      f.last !== null &&
      Date.parse(f.last) - Date.parse(f.first) <= HOURLY_SPAN,
  };
  const sections: string[] = [];
  const parts = options.coverageOnly
    ? [coverageSection]
    : [runHealthSection, modelsSection, testsSection, freshnessSection, coverageSection, modelViewsSection];
  for (const part of parts) sections.push(...(await part(c)));
  return page(c, sections);
}

/** The page around the sections: its head, style, title, navigation. */
/** The page, in parts: its head, each section, its end (written one after another, never joined whole). */
function page(c: ReportContext, sections: string[]): string[] {
  const { history, f, options } = c;
  const s = history.stats;
  const skipped =
    s.skippedCount > 0
      ? `<p class="note">${s.skippedCount} stored objects left out (unreadable), such as ${esc(s.skipped[0]!.path)}: ${esc(s.skipped[0]!.reason)}</p>`
      : '';
  const period = f.first && f.last ? `${f.first.slice(0, 10)} to ${f.last.slice(0, 10)}` : 'no runs';
  const head = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.coverageOnly ? 'dbt coverage history' : 'dbt run history'}</title>
<style>
body { font: 14px/1.45 Helvetica, Arial, sans-serif; color: #1f2328; margin: 2rem auto; max-width: 1100px; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { font-size: 1.3rem; margin-top: 2.4rem; border-bottom: 1px solid #d0d7de; padding-bottom: .3rem; } h3 { font-size: 1rem; margin-top: 1.6rem; }
nav a { margin-right: 1rem; display: inline-block; } .meta, .note, figcaption { color: #59636e; } figure { margin: .5rem 0 0; overflow-x: auto; } figure svg { max-width: 100%; min-width: 640px; height: auto; }
.wide { overflow-x: auto; } .why pre { white-space: pre-wrap; font-size: 12px; max-height: 20rem; overflow: auto; } td code { overflow-wrap: anywhere; } h1, h2, h3, p { overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; margin-top: .5rem; } th, td { border-bottom: 1px solid #eaeef2; padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; } .num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.bad, .error { color: #cf222e; } .success { color: #1a7f37; } .cancelled { color: #59636e; } code { font-size: 12px; }
details { margin-top: .3rem; } summary { cursor: pointer; color: #0969da; } [data-off] { display: none !important; }
.model-view { display: none; } .model-view:target { display: block; border: 1px solid #d0d7de; border-radius: 6px; padding: 0 1rem 1rem; margin-top: 1.5rem; }
.timeline { max-width: 100%; height: auto; } .facts th { width: 16rem; background: none; }
</style>
</head>
<body>
<h1>${options.coverageOnly ? 'dbt coverage history' : 'dbt run history'}</h1>
<p class="meta">${esc(options.source)} · ${f.runs} runs of ${f.jobs.length} jobs, ${period} · generated ${esc(options.generatedAt.toISOString())} by dbt-cloud-harvester</p>
${options.coverageOnly ? '' : '<nav><a href="#runs">Run health</a><a href="#models">Models</a><a href="#tests">Tests</a><a href="#freshness">Source freshness</a><a href="#coverage">Coverage</a></nav>'}
${jobFilter(c)}
${skipped}
`;
  return [head, ...sections.flatMap((section, i) => (i === 0 ? [section] : ['\n', section])), '\n</body>\n</html>\n'];
}
