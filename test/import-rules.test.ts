// Imports in src/ may only go DOWN the folder order (or stay on the same level),
// so a low-level folder never depends on a higher one (issue 12).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const SRC = resolve(dirname(new URL(import.meta.url).pathname), '..', 'src');

/** Level of each top-level folder of src/; lower may never import higher. */
const LEVEL: Record<string, number> = {
  util: 0,
  model: 1, backend: 1,
  // Images: decode, RGB types, placement geometry, letterbox / resize, resamplers (util, model's config types, npm).
  image: 1.5,
  // The speed-ups patch model and backend kernels (fold BN, gradient kernels, wasm threads).
  speed: 1.5,
  io: 2,
  data: 3,
  prune: 4,
  // Evaluation runs the Detector, so it sits above predict.
  predict: 5,
  eval: 5.5,
  train: 6,
  jobs: 7,
  cli: 8,
};

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...tsFiles(path));
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** Every module specifier: `import ... from`, `export ... from`, bare `import '...'` and `import('...')`. */
function specifiers(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) for (const m of source.matchAll(re)) found.push(m[1]);
  return found;
}

function topFolder(absPath: string): string | undefined {
  const rel = relative(SRC, absPath);
  if (rel.startsWith('..')) return undefined;
  const parts = rel.split(sep);
  return parts.length > 1 ? parts[0] : undefined; // undefined: a file directly in src/
}

test('the parser sees every import form (so an empty violation list means something)', () => {
  const source = [
    "import * as tf from '@tensorflow/tfjs';",
    "import type { A,\n  B } from '../a/b.ts';",
    "export { c } from './c.ts';",
    "export * from '../d.ts';",
    "import './side-effect.ts';",
    "const m = await import('../e/f.ts');",
  ].join('\n');
  assert.equal(specifiers(source).sort(), ['../a/b.ts', '../d.ts', '../e/f.ts', './c.ts', './side-effect.ts', '@tensorflow/tfjs'].sort());
});

test('every folder of src/ has a level', () => {
  const folders = readdirSync(SRC).filter((n) => statSync(join(SRC, n)).isDirectory());
  const unknown = folders.filter((f) => !(f in LEVEL));
  assert.equal(unknown, [], `folders without a level: ${unknown.join(', ')}`);
});

test('imports in src/ only go down the folder order', () => {
  const violations: string[] = [];
  for (const file of tsFiles(SRC)) {
    const from = topFolder(file);
    if (from === undefined) continue; // src/index.ts may import anything
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      if (!spec.startsWith('.')) continue;
      const to = topFolder(resolve(dirname(file), spec));
      if (to === undefined || to === from) continue;
      if ((LEVEL[to] ?? -1) > (LEVEL[from] ?? -1)) {
        violations.push(`${relative(SRC, file)} -> ${spec} (${from} ${LEVEL[from]} imports ${to} ${LEVEL[to]})`);
      }
    }
  }
  assert.equal(violations, [], `imports going up:\n${violations.join('\n')}`);
});

test.run();
