import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILD_STAMP, staleBuildMessage, staleSources } from '../../src/plugin/build-freshness';

const FILES = ['src/nn/train.ts', 'src/nas/search.ts', 'executors/nas/impl.ts', 'src/README.md'];

function checkout(): string {
  const root = mkdtempSync(join(tmpdir(), 'dm-fresh-'));
  for (const f of FILES) {
    mkdirSync(join(root, f, '..'), { recursive: true });
    writeFileSync(join(root, f), '');
  }
  return root;
}
const touch = (root: string, file: string, iso: string) => utimesSync(join(root, file), new Date(iso), new Date(iso));

test('a checkout whose sources are older than the build stamp is fresh; sources edited after it are named', () => {
  const root = checkout();
  try {
    for (const f of FILES) touch(root, f, '2026-01-01T10:00:00Z');
    mkdirSync(join(root, 'build'));
    writeFileSync(join(root, BUILD_STAMP), '2026-01-01T11:00:00.000Z\n');
    assert.deepEqual(staleSources(root), []);
    assert.equal(staleBuildMessage(root), undefined);
    touch(root, 'src/nas/search.ts', '2026-01-01T12:00:00Z');
    touch(root, 'executors/nas/impl.ts', '2026-01-01T12:00:00Z');
    touch(root, 'src/README.md', '2026-01-01T12:00:00Z'); // not a source
    assert.deepEqual(staleSources(root), [join('executors', 'nas', 'impl.ts'), join('src', 'nas', 'search.ts')]);
    assert.match(staleBuildMessage(root)!, /executors\/nas\/impl\.ts, src\/nas\/search\.ts changed after the last build: run `npm run build`/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a build without a stamp is reported; an installed package (no src/) is not checked', () => {
  const root = checkout();
  try {
    assert.equal(staleSources(root), 'missing-stamp');
    assert.match(staleBuildMessage(root)!, /has no build stamp: run `npm run build`/);
    rmSync(join(root, 'src'), { recursive: true });
    assert.deepEqual(staleSources(root), []);
    assert.equal(staleBuildMessage(root), undefined);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
