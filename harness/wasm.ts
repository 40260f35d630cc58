/**
 * The WebAssembly text of the scanner's skip loop, assembled by wabt (a dev dependency): used by
 * scripts/build-wasm.ts to write the committed module and by the test that checks it is current.
 * @module
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import wabt from 'wabt';

export const JSON_SKIP_SOURCE = fileURLToPath(new URL('../lib/json/json-skip.wat', import.meta.url));
export const JSON_SKIP_MODULE = fileURLToPath(new URL('../lib/json/json-skip-wasm.ts', import.meta.url));

export async function assembleJsonSkip(): Promise<Uint8Array> {
  const module = (await wabt()).parseWat('json-skip.wat', readFileSync(JSON_SKIP_SOURCE, 'utf8'), { simd: true });
  try {
    module.validate();
    return module.toBinary({ log: false, write_debug_names: false }).buffer;
  } finally {
    module.destroy();
  }
}
