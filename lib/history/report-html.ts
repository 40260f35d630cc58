/**
 * The coverage history as one self-contained HTML file: charts drawn by Vega-Lite and rendered to
 * SVG here (no script, no network: the file opens offline and prints), and tables of the largest
 * drops and the latest per-table figures.
 * @module
 */
import type { History, HistoryPoint } from './history.ts';

export interface ReportOptions {
  /** What was read (a folder or gs:// URL). */
  source: string;
  generatedAt: Date;
  /** Most tables listed per job in the latest figures (lowest coverage first). */
  maxTables?: number;
}

const esc = (text: unknown): string =>
  String(text ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
const pct = (v: number | null | undefined): string =>
  v === null || v === undefined ? '–' : `${(v * 100).toFixed(1)}%`;
const label = (p: { job_id: number; job_name: string | null }): string =>
  p.job_name ? `${p.job_name} (${p.job_id})` : `job ${p.job_id}`;

interface ChartSpec {
  title: string;
  field: keyof HistoryPoint;
  format?: string;
  yTitle: string;
  points: HistoryPoint[];
}

/** A Vega-Lite line chart of one measure per job, rendered to SVG. */
async function chart(spec: ChartSpec): Promise<string> {
  const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
  const values = spec.points
    .filter((p) => p[spec.field] !== null)
    .map((p) => ({ finished_at: p.finished_at, value: p[spec.field], job: label(p), run: p.run_id }));
  const compiled = vl.compile({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: 760,
    height: 220,
    background: 'white',
    config: {
      font: 'Helvetica, Arial, sans-serif',
      axis: { labelFontSize: 11, titleFontSize: 11 },
      legend: { labelLimit: 320, orient: 'bottom', columns: 2 },
    },
    data: { values },
    mark: { type: 'line', point: values.length <= 400, interpolate: 'step-after', strokeWidth: 1.5 },
    encoding: {
      x: { field: 'finished_at', type: 'temporal', title: 'run finished (UTC)' },
      y: {
        field: 'value',
        type: 'quantitative',
        title: spec.yTitle,
        ...(spec.format ? { axis: { format: spec.format }, scale: { domain: [0, 1] } } : {}),
      },
      color: { field: 'job', type: 'nominal', title: 'job' },
    },
  }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export async function renderHistoryHtml(history: History, options: ReportOptions): Promise<string> {
  const points = history.points;
  const withCatalog = points.filter((p) => p.doc_coverage !== null || p.columns !== null);
  const jobs = [...new Map(points.map((p) => [p.job_id, p])).values()];
  const latestByJob = new Map<number, HistoryPoint>();
  for (const p of points) latestByJob.set(p.job_id, p);
  const times = points.map((p) => p.finished_at).sort();
  const period = times.length > 0 ? `${esc(times[0]!.slice(0, 10))} to ${esc(times.at(-1)!.slice(0, 10))}` : 'no runs';

  const charts: string[] = [];
  if (withCatalog.length > 0) {
    charts.push(
      section(
        'Documentation coverage',
        'Columns with a description, over all columns of the catalog (dbt-coverage doc).',
        await chart({
          title: 'doc',
          field: 'doc_coverage',
          format: '%',
          yTitle: 'documented columns',
          points: withCatalog,
        }),
      ),
    );
    charts.push(
      section(
        'Test coverage',
        'Columns with at least one test, over all columns (dbt-coverage test).',
        await chart({
          title: 'test',
          field: 'test_coverage',
          format: '%',
          yTitle: 'tested columns',
          points: withCatalog,
        }),
      ),
    );
    charts.push(
      section(
        'Columns',
        'Columns in the catalog: coverage falls when columns are added undocumented.',
        await chart({ title: 'columns', field: 'columns', yTitle: 'columns', points: withCatalog }),
      ),
    );
  }
  const modelShare = points
    .filter((p) => p.models > 0)
    .map((p) => ({ ...p, doc_coverage: p.models_documented / p.models, test_coverage: p.models_tested / p.models }));
  if (modelShare.length > 0) {
    charts.push(
      section(
        'Models with a description',
        'From the manifest alone: every run with a manifest counts, with or without a catalog.',
        await chart({
          title: 'models documented',
          field: 'doc_coverage',
          format: '%',
          yTitle: 'documented models',
          points: modelShare,
        }),
      ),
    );
    charts.push(
      section(
        'Models with a test',
        'From the manifest alone.',
        await chart({
          title: 'models tested',
          field: 'test_coverage',
          format: '%',
          yTitle: 'tested models',
          points: modelShare,
        }),
      ),
    );
  }

  const summaryRows = jobs
    .map((j) => latestByJob.get(j.job_id)!)
    .map(
      (p) =>
        `<tr><td>${esc(label(p))}</td><td>${esc(p.finished_at)}</td><td class="n">${pct(p.doc_coverage)}</td><td class="n">${pct(p.test_coverage)}</td><td class="n">${p.columns ?? '–'}</td><td class="n">${p.models_documented}/${p.models}</td><td class="n">${p.models_tested}/${p.models}</td><td class="n">${p.tests}</td></tr>`,
    )
    .join('');
  const drops = history.drops
    .map(
      (d) =>
        `<tr><td>${esc(label(d))}</td><td>${d.kind === 'doc' ? 'documentation' : 'tests'}</td><td>${esc(d.finished_at)}</td><td>${d.from_run} → ${d.to_run}</td><td class="n">${pct(d.before)} → ${pct(d.after)}</td><td class="n bad">${(d.change * 100).toFixed(1)} pt</td><td>${
          d.tables.length > 0
            ? d.tables
                .map(
                  (t) =>
                    `<code>${esc(t.name)}</code> +${t.lost} ${d.kind === 'doc' ? 'undocumented' : 'untested'}${t.columns_before === null ? ' (new table)' : ''}`,
                )
                .join('<br>')
            : '–'
        }</td></tr>`,
    )
    .join('');
  const maxTables = options.maxTables ?? 200;
  const latest = history.latest
    .map((l) => {
      const rows = [...l.tables]
        .sort(
          (a, b) =>
            a.documented / Math.max(1, a.columns) - b.documented / Math.max(1, b.columns) || (a.name < b.name ? -1 : 1),
        )
        .slice(0, maxTables)
        .map(
          (t) =>
            `<tr><td><code>${esc(t.name)}</code></td><td class="n">${t.columns}</td><td class="n">${pct(t.columns ? t.documented / t.columns : null)}</td><td class="n">${pct(t.columns ? t.tested / t.columns : null)}</td><td class="n">${t.tests}</td></tr>`,
        )
        .join('');
      const more =
        l.tables.length > maxTables ? `<p class="note">${l.tables.length - maxTables} more tables not listed.</p>` : '';
      return `<h3>${esc(label(l))}, run ${l.run_id} (${esc(l.finished_at)})</h3><table><thead><tr><th>table</th><th>columns</th><th>documented</th><th>tested</th><th>tests</th></tr></thead><tbody>${rows}</tbody></table>${more}`;
    })
    .join('');
  const skipped =
    history.skipped.length > 0
      ? `<p class="note">${history.skipped.length} runs left out (their summary could not be read or computed), such as run ${history.skipped[0]!.run_id}: ${esc(history.skipped[0]!.reason)}</p>`
      : '';

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dbt coverage history</title>
<style>
body { font: 14px/1.45 Helvetica, Arial, sans-serif; color: #1f2328; margin: 2rem auto; max-width: 1100px; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { font-size: 1.2rem; margin-top: 2.2rem; border-bottom: 1px solid #d0d7de; padding-bottom: .3rem; } h3 { font-size: 1rem; margin-top: 1.4rem; }
.meta, .note { color: #59636e; } figure { margin: .5rem 0 0; } figure svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; width: 100%; margin-top: .5rem; } th, td { border-bottom: 1px solid #eaeef2; padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; } td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; } .bad { color: #cf222e; } code { font-size: 12px; }
</style>
</head>
<body>
<h1>dbt coverage history</h1>
<p class="meta">${esc(options.source)} · ${history.stats.runs} runs of ${jobs.length} jobs, ${period} · ${history.stats.stored} summaries stored, ${history.stats.computed} computed from stored manifests · generated ${esc(options.generatedAt.toISOString())} by dbt-cloud-harvester</p>
${skipped}
<h2>Latest run of each job</h2>
<table><thead><tr><th>job</th><th>finished</th><th>documentation</th><th>tests</th><th>columns</th><th>models documented</th><th>models tested</th><th>tests</th></tr></thead><tbody>${summaryRows}</tbody></table>
${charts.join('\n')}
<h2>Largest drops between consecutive runs</h2>
${drops ? `<table><thead><tr><th>job</th><th>coverage</th><th>finished</th><th>runs</th><th>change</th><th></th><th>tables that caused it</th></tr></thead><tbody>${drops}</tbody></table>` : '<p class="note">No run lowered a coverage.</p>'}
<h2>Latest per-table figures</h2>
${latest || '<p class="note">No run with a catalog (a <code>dbt docs generate</code> step) yet.</p>'}
</body>
</html>
`;
}

function section(title: string, note: string, svg: string): string {
  return `<h2>${esc(title)}</h2><p class="note">${esc(note)}</p><figure>${svg}</figure>`;
}
