#!/usr/bin/env node
// Until gbp's packages are published, this is how a project outside the clone gets them:
//
//     npm run pack:all [-- DEST] [-- --no-build]      (default DEST: packs/)
//     npm install DEST/gbp-core-0.1.0.tgz DEST/gbp-pruner-random-0.1.0.tgz ...
//
// Builds every project (nx), then packs each publishable package (every package.json under
// packages/ and examples/ that is not private) with one `npm pack`, which applies each package's
// `files` and writes the tarballs. Prints the tarballs and the install line.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const build = !args.includes('--no-build');
const unknown = args.filter((a) => a.startsWith('-') && a !== '--no-build');
if (unknown.length > 0 || args.filter((a) => !a.startsWith('-')).length > 1) {
  console.error(`pack-all: unexpected arguments ${JSON.stringify(args)}; usage: node tools/pack-all.mjs [DEST] [--no-build]`);
  process.exit(2);
}
const dest = resolve(args.find((a) => !a.startsWith('-')) ?? join(root, 'packs'));

/** Folders of the packages a user installs: not private, under packages/ or examples/. */
function publishable() {
  const dirs = [];
  for (const parent of ['packages', 'examples']) {
    for (const name of readdirSync(join(root, parent)).sort()) {
      const file = join(root, parent, name, 'package.json');
      if (!existsSync(file)) continue;
      const pkg = JSON.parse(readFileSync(file, 'utf8'));
      if (!pkg.private) dirs.push(join(root, parent, name));
    }
  }
  return dirs;
}

if (build) {
  execFileSync(join(root, 'node_modules', '.bin', 'nx'), ['run-many', '-t', 'build'], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, NX_DAEMON: 'false' },
  });
}
const dirs = publishable();
const missing = dirs.filter((dir) => !existsSync(join(dir, 'dist')));
if (missing.length > 0) {
  console.error(`pack-all: not built: ${missing.map((d) => relative(root, d)).join(', ')} (run without --no-build, or npm run build)`);
  process.exit(1);
}
mkdirSync(dest, { recursive: true });
const packed = JSON.parse(
  execFileSync('npm', ['pack', '--json', '--pack-destination', dest, ...dirs], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }),
);
const tarballs = packed.map((p) => join(dest, p.filename));
for (const [i, p] of packed.entries()) console.log(`${p.name}@${p.version}  ${relative(process.cwd(), tarballs[i])}`);
console.log(`\nInstall in your project:\n  npm install ${tarballs.join(' ')}`);
