/**
 * The package's version, for --version: read from the package.json above this file, whether it runs
 * from source (lib/cli/) or built (dist/lib/cli/) or installed (node_modules/dbt-cloud-harvester/).
 * @module
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function packageVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dirname(dir) !== dir; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'dbt-cloud-harvester' && pkg.version) return pkg.version;
    } catch {
      /* not here: look above */
    }
  }
  return 'unknown';
}
