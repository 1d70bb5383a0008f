// Builds ../web/vendor/charts.js from charts.entry.js and records the hash
// of its inputs beside it (charts.inputs.sha256); a Go test
// (dashboard/vendor_test.go) fails when an input changed without a rebuild.
//   cd dashboard/webbuild && npm ci && npm run build
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';

export const inputs = ['package.json', 'package-lock.json', 'charts.entry.js', 'build.mjs'];

export function inputsHash() {
  const h = createHash('sha256');
  for (const f of inputs) {
    h.update(f + '\0');
    h.update(readFileSync(f));
    h.update('\0');
  }
  return h.digest('hex');
}

mkdirSync('../web/vendor', { recursive: true });
await build({
  entryPoints: ['charts.entry.js'],
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2020',
  legalComments: 'eof',
  outfile: '../web/vendor/charts.js',
});
writeFileSync('../web/vendor/charts.inputs.sha256', inputsHash() + '\n');
