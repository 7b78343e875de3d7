// Builds the console into dist/ (committed, embedded in the hub binary by
// crates/vigie-hub/src/api/console.rs). Deterministic: same sources and lockfile, same bytes.
//
//   node build.mjs          build into dist/
//   node build.mjs --check  build into dist-tmp/ and fail unless it matches dist/ byte for byte
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const check = process.argv.includes('--check');
const out = join(root, check ? 'dist-tmp' : 'dist');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const common = {
  bundle: true,
  minify: true,
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  legalComments: 'eof',
  charset: 'utf8',
  logLevel: 'warning',
  loader: { '.png': 'dataurl', '.svg': 'dataurl' },
  absWorkingDir: root,
};
await build({
  ...common,
  entryPoints: { app: 'src/main.ts', report: 'src/report.ts', transparency: 'src/transparency.ts' },
  outdir: out,
  format: 'iife',
});
await build({ ...common, entryPoints: { app: 'src/app.css' }, outdir: out });
for (const f of ['index.html', 'report.html', 'transparency.html']) copyFileSync(join(root, 'src', f), join(out, f));

if (check) {
  const dist = join(root, 'dist');
  const a = readdirSync(out).sort();
  const b = readdirSync(dist).sort();
  let bad = JSON.stringify(a) !== JSON.stringify(b) ? [`files differ: built ${a} committed ${b}`] : [];
  for (const f of a) {
    if (b.includes(f) && !readFileSync(join(out, f)).equals(readFileSync(join(dist, f)))) bad.push(`${f} differs`);
  }
  rmSync(out, { recursive: true, force: true });
  if (bad.length) {
    console.error('console/dist does not match its sources (run `npm --prefix console run build` and commit):\n  ' + bad.join('\n  '));
    process.exit(1);
  }
  console.log('console/dist matches its sources');
}
