import { readFileSync, readdirSync, statSync } from 'node:fs';
import ts from 'typescript';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The module boundaries, checked on the import statements themselves: no module imports from a
 * layer above its own or from a sibling's folder, there is no import cycle, the pure core imports
 * no I/O, and each function's handler loads only the client it uses.
 */
interface Layer {
  name: string;
  /** Path prefixes of its files. */
  paths: string[];
  rank: number;
}

const LAYERS: Layer[] = [
  { name: 'json', paths: ['lib/json/'], rank: 0 },
  { name: 'core', paths: ['lib/core/'], rank: 1 },
  { name: 'coverage', paths: ['lib/coverage/'], rank: 2 },
  { name: 'log', paths: ['lib/log.ts'], rank: 3 },
  { name: 'config', paths: ['lib/config/'], rank: 4 },
  { name: 'dbt-cloud', paths: ['lib/dbt-cloud/'], rank: 5 },
  { name: 'storage', paths: ['lib/storage/'], rank: 5 },
  { name: 'secrets', paths: ['lib/secrets/'], rank: 5 },
  { name: 'facts', paths: ['lib/facts/'], rank: 5 },
  { name: 'google', paths: ['lib/google/'], rank: 5 },
  { name: 'harvest', paths: ['lib/harvest/'], rank: 6 },
  { name: 'history', paths: ['lib/history/'], rank: 6 },
  { name: 'deploy', paths: ['lib/deploy/'], rank: 6 },
  { name: 'lineage', paths: ['lib/lineage/'], rank: 6 },
  // The alerts read the history (its rows and why a run failed).
  { name: 'alerts', paths: ['lib/alerts/'], rank: 6.5 },
  { name: 'cloud', paths: ['lib/cloud/'], rank: 7 },
  { name: 'cli', paths: ['lib/cli/'], rank: 7 },
  { name: 'functions', paths: ['functions/'], rank: 8 },
];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

interface Import {
  from: string;
  to: string;
  dynamic: boolean;
  typeOnly: boolean;
}

const SOURCES = [...files('lib'), ...files('functions')];

function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const out: Import[] = [];
  for (const m of text.matchAll(
    /^\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'|^\s*import\s+'([^']+)'|\bimport\(\s*'([^']+)'\s*\)/gm,
  )) {
    const spec = m[1] ?? m[2] ?? m[3]!;
    const to = spec.startsWith('.') ? normalize(join(dirname(file), spec)) : spec;
    // Type-only imports count for the layers, but are erased: they load nothing.
    out.push({ from: file, to, dynamic: m[3] !== undefined, typeOnly: /^\s*(?:import|export)\s+type\s/.test(m[0]) });
  }
  return out;
}

const layerOf = (file: string): Layer | undefined =>
  LAYERS.find((l) => l.paths.some((p) => file === p || file.startsWith(p)));
const GRAPH = new Map(SOURCES.map((f) => [f, importsOf(f)]));

describe('module boundaries', () => {
  it('has its unit tests mirror lib/: a folder of test/unit for each of lib/, and none for anything else', () => {
    const folders = (dir: string): string[] =>
      readdirSync(dir)
        .filter((n) => statSync(join(dir, n)).isDirectory())
        .sort();
    expect(folders('test/unit')).toEqual(folders('lib'));
  });

  it('puts every module of lib/ and functions/ in a layer', () => {
    expect(SOURCES.filter((f) => !layerOf(f))).toEqual([]);
  });

  it('imports only from its own folder or a layer below, never from tests, harnesses or scripts', () => {
    const problems: string[] = [];
    for (const [file, imports] of GRAPH) {
      const own = layerOf(file)!;
      for (const i of imports) {
        if (!i.to.startsWith('lib/') && !i.to.startsWith('functions/')) {
          if (/^(test|harness|scripts)\//.test(i.to) || i.to.startsWith('.')) problems.push(`${file} imports ${i.to}`);
          continue;
        }
        const target = layerOf(i.to);
        if (!target) problems.push(`${file} imports ${i.to}, which is in no layer`);
        else if (target !== own && target.rank >= own.rank)
          problems.push(`${file} (${own.name}) imports ${i.to} (${target.name})`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('keeps the pure layers pure: the JSON scanner imports only Buffer, core zod, coverage zod and core; none does I/O', () => {
    const allowed: Record<string, (to: string) => boolean> = {
      json: (to) => to.startsWith('lib/json/') || to === 'node:buffer',
      core: (to) => to === 'zod' || to.startsWith('lib/core/'),
      coverage: (to) => to === 'zod' || to.startsWith('lib/core/') || to.startsWith('lib/coverage/'),
    };
    const problems = [...GRAPH].flatMap(([file, imports]) => {
      const ok = allowed[layerOf(file)!.name];
      return ok ? imports.filter((i) => !ok(i.to)).map((i) => `${file} imports ${i.to}`) : [];
    });
    expect(problems).toEqual([]);
  });

  // Lookup tables (a Map or a byte table filled once) are constants; an instance of a class is state.
  it('keeps no mutable state at module level in the JSON layer but the kernel lender, which holds no scanner’s bytes', () => {
    const problems = files('lib/json').flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .map((line, n) => [line, n + 1] as const)
        .filter(
          ([line]) =>
            /^(export\s+)?(let|var)\s/.test(line) ||
            /^(export\s+)?const\s+\w+\s*(:[^=]+)?=\s*new\s+(?!(Map|Uint8Array)\b)/.test(line),
        )
        .filter(([line]) => !/^export const KERNELS = new KernelLender\(\);$/.test(line))
        .map(([line, n]) => `${file}:${n}: ${line.trim()}`),
    );
    expect(problems).toEqual([]);
  });

  it('keeps every function of lib/ to 150 lines or fewer, so that a reader holds it in their head', () => {
    const long: string[] = [];
    for (const file of SOURCES.filter((f) => f.startsWith('lib/'))) {
      const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
      const visit = (node: ts.Node): void => {
        if (ts.isFunctionLike(node) && (node as ts.FunctionLikeDeclaration).body) {
          const first = source.getLineAndCharacterOfPosition(node.getStart()).line;
          const lines = source.getLineAndCharacterOfPosition(node.getEnd()).line - first + 1;
          const name = (node as ts.FunctionLikeDeclaration).name?.getText() ?? '(anonymous)';
          if (lines > 150) long.push(`${file}:${first + 1} ${name}: ${lines} lines`);
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
    expect(long).toEqual([]);
  });

  it('names each file of lib/ once (but the commands, named after what they do), so a name says which room', () => {
    const named = new Map<string, string[]>();
    for (const f of SOURCES.filter((x) => x.startsWith('lib/') && !x.startsWith('lib/cli/commands/'))) {
      const base = f.split('/').pop()!;
      named.set(base, [...(named.get(base) ?? []), f]);
    }
    expect([...named.values()].filter((paths) => paths.length > 1)).toEqual([]);
  });

  it('has no import cycle', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (file: string, path: string[]): void => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        cycles.push([...path.slice(path.indexOf(file)), file].join(' -> '));
        return;
      }
      state.set(file, 'open');
      for (const i of GRAPH.get(file) ?? []) if (GRAPH.has(i.to)) visit(i.to, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of GRAPH.keys()) visit(file, []);
    expect(cycles).toEqual([]);
  });

  it('loads the Pub/Sub client only where a function publishes, and the Storage client only where one stores', () => {
    /** What a module loads, at once (static imports), or also later (dynamic imports). */
    const closure = (file: string, dynamic: boolean, seen = new Set<string>()): Set<string> => {
      for (const i of GRAPH.get(file) ?? []) {
        if (i.typeOnly || (!dynamic && i.dynamic) || seen.has(i.to)) continue;
        seen.add(i.to);
        closure(i.to, dynamic, seen);
      }
      return seen;
    };
    const staticClosure = (file: string): Set<string> => closure(file, false);
    const loads = (file: string, pkg: string): boolean => [...staticClosure(file)].some((f) => f === pkg);
    const mayLoad = (file: string, pkg: string): boolean => [...closure(file, true)].some((f) => f === pkg);
    // harvestRun publishes "run stored" only where alerts are on: the client loads with that first publish.
    expect(loads('lib/cloud/harvest-run.ts', '@google-cloud/pubsub')).toBe(false);
    expect(mayLoad('lib/cloud/alert-run.ts', '@google-cloud/pubsub')).toBe(false);
    for (const publisher of ['lib/cloud/dispatch-hourly.ts', 'lib/cloud/backfill.ts', 'lib/cloud/receive-webhook.ts']) {
      // The Pub/Sub client loads in the background, from the publisher (a cold instance answers first).
      expect(loads(publisher, '@google-cloud/pubsub'), publisher).toBe(false);
      expect(mayLoad(publisher, '@google-cloud/pubsub'), publisher).toBe(true);
      expect(mayLoad(publisher, '@google-cloud/storage'), publisher).toBe(false);
    }
    // The webhook receiver answers dbt Cloud fast: it never loads the dbt Cloud client or Storage.
    expect(mayLoad('lib/cloud/receive-webhook.ts', 'lib/dbt-cloud/client.ts')).toBe(false);
    // Google's auth library loads with the one command that reads Google's APIs, not with every command.
    expect(loads('lib/cli/cli.ts', 'google-auth-library')).toBe(false);
    expect(mayLoad('lib/cli/cli.ts', 'lib/google/apis.ts')).toBe(true);
    expect(loads('lib/cli/commands/lineage.ts', 'google-auth-library')).toBe(false);
    // The entry file and the table load no handler, so no client, until a function is served.
    for (const entry of ['functions/index.ts', 'lib/cloud/functions.ts', 'lib/cli/cli.ts']) {
      expect(loads(entry, '@google-cloud/pubsub'), entry).toBe(false);
      expect(loads(entry, '@google-cloud/storage'), entry).toBe(false);
    }
  });
});
