// The README's Quickstart is true: its commands run (in a scratch folder that sees the repository's
// models/, datasets/ and test/) and print every output line the README shows for them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const readme = readFileSync(path.join(repo, 'README.md'), 'utf8');
const quickstart = readme.slice(readme.indexOf('## Quickstart'), readme.indexOf('\n## ', readme.indexOf('## Quickstart') + 1));

function block(lang: string): string {
  const m = quickstart.match(new RegExp('```' + lang + '\\n([\\s\\S]*?)```'));
  if (!m) throw new Error(`README Quickstart has no \`\`\`${lang} block`);
  return m[1];
}

/** `$ npx yolo4 ...` lines of the text block, each with the output lines shown under it. */
function shownRuns(): { command: string; lines: string[] }[] {
  const runs: { command: string; lines: string[] }[] = [];
  for (const line of block('text').split('\n')) {
    if (line.startsWith('$ ')) runs.push({ command: line.slice(2), lines: [] });
    else if (line.trim() && runs.length) runs[runs.length - 1].lines.push(line);
  }
  return runs;
}

const work = mkdtempSync(path.join(tmpdir(), 'yolo4-quickstart-'));
test.after(() => rmSync(work, { recursive: true, force: true }));

test('every command whose output the Quickstart shows is one of its commands', () => {
  const commands = block('sh').split('\n').map((l) => l.replace(/\s+#.*$/, '').trim()).filter(Boolean);
  const runs = shownRuns();
  assert.ok(runs.length >= 5, `expected the import, eval, prune, eval and predict runs, found ${runs.length}`);
  for (const r of runs) assert.ok(commands.includes(r.command), `"${r.command}" is not in the Quickstart's commands`);
});

test('the Quickstart commands print what the README shows, with real detections', () => {
  for (const dir of ['models', 'datasets']) symlinkSync(path.join(repo, dir), path.join(work, dir));
  mkdirSync(path.join(work, 'test'));
  symlinkSync(path.join(repo, 'test', 'fixtures'), path.join(work, 'test', 'fixtures'));
  for (const { command, lines } of shownRuns()) {
    const args = command.split(/\s+/);
    assert.equal(args.slice(0, 2), ['npx', 'yolo4'], command);
    const r = spawnSync(process.execPath, [path.join(repo, 'bin', 'yolo4.js'), ...args.slice(2)], {
      cwd: work, encoding: 'utf8', env: { ...process.env, YOLO4_THREADS: '1' }, timeout: 120_000,
    });
    const printed = `${r.stdout}\n${r.stderr}`;
    assert.is(r.status, 0, `${command} exited ${r.status}:\n${printed}`);
    const printedLines = new Set(printed.split('\n').map((l) => l.trimEnd()));
    for (const line of lines) assert.ok(printedLines.has(line.trimEnd()), `${command}\ndid not print the README's line\n  ${line}\nit printed:\n${printed}`);
  }
  // The README's predictions are those of a trained model: the dog picture has a dog in it.
  const predictions = JSON.parse(readFileSync(path.join(work, 'runs', 'predict', 'predictions.json'), 'utf8')) as { image: string; detections: { class: string; score: number }[] }[];
  const dog = predictions.find((p) => p.image.endsWith('dog.jpg'));
  assert.ok(dog?.detections.some((d) => d.class === 'dog' && d.score > 0.5), 'no confident dog found in dog.jpg');
});

test.run();
