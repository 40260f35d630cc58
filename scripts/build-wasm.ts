/**
 * Assembles lib/json/json-skip.wat into lib/json/json-skip-wasm.ts (the module's bytes, base64),
 * which is committed: the CLI and the functions load it from there, with nothing to build or ship
 * beside the JavaScript. test/unit/json/json-skip.test.ts fails when the two disagree.
 *
 *   npm run build:wasm
 */
import { writeFileSync } from 'node:fs';
import { assembleJsonSkip, JSON_SKIP_MODULE } from '../harness/wasm.ts';

const bytes = await assembleJsonSkip();
const base64 = Buffer.from(bytes).toString('base64');
const lines = base64.match(/.{1,96}/g) ?? [];
writeFileSync(
  JSON_SKIP_MODULE,
  `/**\n * Written by scripts/build-wasm.ts from json-skip.wat (${bytes.length} bytes): do not edit; run npm run build:wasm.\n * @module\n */\nexport const JSON_SKIP_WASM = [\n${lines.map((l) => `  '${l}',`).join('\n')}\n].join('');\n`,
);
process.stdout.write(`${JSON_SKIP_MODULE}: ${bytes.length} bytes of WebAssembly\n`);
