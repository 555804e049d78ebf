// Rebuilds the CDN-style aws-rum-web bundle (cwr.js) from the npm package.
//
// aws-rum-web 3.x ships only dist/es and dist/cjs on npm; the IIFE that the CDN serves is built
// upstream from src/index-browser.ts. dist/es/index-browser.js is the compiled form of that entry:
// it reads the window.AwsRumClient queue that the page's loader snippet leaves behind, so bundling
// it into one IIFE gives a file that behaves like the CDN's cwr.js.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const pkgDir = dirname(require.resolve('aws-rum-web/package.json'));
const version = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version;
const outfile = join(here, '.build', 'cwr.js');

mkdirSync(dirname(outfile), { recursive: true });
await build({
  entryPoints: [join(pkgDir, 'dist', 'es', 'index-browser.js')],
  outfile,
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2017',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
});
console.log(`built ${outfile} (aws-rum-web ${version}, ${statSync(outfile).size} bytes)`);
