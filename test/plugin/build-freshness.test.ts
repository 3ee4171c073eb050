import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cpSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { staleBuildMessage, staleSources, writeBuildRecord } from '../../src/plugin/build-freshness';

const FILES = ['src/nn/train.ts', 'src/nas/search.ts', 'executors/nas/impl.ts', 'src/README.md', 'src/dse/calibration/packing.json', 'executors/nas/schema.json'];

function checkout(): string {
  const root = mkdtempSync(join(tmpdir(), 'dm-fresh-'));
  for (const f of FILES) {
    mkdirSync(join(root, f, '..'), { recursive: true });
    writeFileSync(join(root, f), `// ${f}\n`);
  }
  mkdirSync(join(root, 'build'));
  return root;
}

test('a build records its sources; edited, added and removed sources are named, other files and times do not count', () => {
  const root = checkout();
  try {
    writeBuildRecord(root);
    assert.deepEqual(staleSources(root), []);
    assert.equal(staleBuildMessage(root), undefined);
    // Same contents, new times (a copy, a fresh checkout): still current.
    for (const f of FILES) utimesSync(join(root, f), new Date('2030-01-01'), new Date('2030-01-01'));
    assert.deepEqual(staleSources(root), []);
    writeFileSync(join(root, 'src/nas/search.ts'), '// edited\n');
    writeFileSync(join(root, 'src/nas/new.ts'), '');
    rmSync(join(root, 'executors/nas/impl.ts'));
    writeFileSync(join(root, 'src/README.md'), 'not a source\n');
    // Executor schemas are read by Nx from the package, not compiled: not a source.
    writeFileSync(join(root, 'executors/nas/schema.json'), '{}\n');
    assert.deepEqual(staleSources(root), ['executors/nas/impl.ts', 'src/nas/new.ts', 'src/nas/search.ts']);
    // A data file the compiler copies into build/ (imported JSON) is a source.
    writeFileSync(join(root, 'src/dse/calibration/packing.json'), '{ "ffShare": 0.9 }\n');
    assert.deepEqual(staleSources(root), ['executors/nas/impl.ts', 'src/dse/calibration/packing.json', 'src/nas/new.ts', 'src/nas/search.ts']);
    assert.match(staleBuildMessage(root)!, /executors\/nas\/impl\.ts, src\/dse\/calibration\/packing\.json, src\/nas\/new\.ts and 1 more changed after the last build: run `npm run build`/);
    // A copy of the package (as npm installs it) carries its record along.
    const copy = mkdtempSync(join(tmpdir(), 'dm-fresh-copy-'));
    writeBuildRecord(root);
    cpSync(root, copy, { recursive: true });
    assert.deepEqual(staleSources(copy), []);
    rmSync(copy, { recursive: true, force: true });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a build without a record is reported; a package without src/ is not checked', () => {
  const root = checkout();
  try {
    assert.equal(staleSources(root), 'missing-record');
    assert.match(staleBuildMessage(root)!, /does not record what it was built from: run `npm run build`/);
    rmSync(join(root, 'src'), { recursive: true });
    assert.deepEqual(staleSources(root), []);
    assert.equal(staleBuildMessage(root), undefined);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
