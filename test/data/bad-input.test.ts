import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CIFAR_RECORD } from '../../src/data/cifar10';
import { encodeNpy } from '../../src/data/npy';
import { isDeepMakerError } from '../../src/util/errors';
import { idxBytes, IDX_YAML, put, runData, tempProject, writeIdxDataset } from './helpers';

/**
 * Each bad input must fail with a DeepMakerError that names the file (and the record/row/column
 * where it applies) and says what to do, and must leave dist/data as it was: absent on a first run,
 * byte-identical after an earlier good run. No temporary folder may be left behind.
 */
async function expectFailure(dir: string, file: string, pattern: RegExp): Promise<void> {
  await assert.rejects(runData(dir), (e: unknown) => {
    assert.ok(isDeepMakerError(e), `expected a DeepMakerError, got ${String(e)}`);
    const msg = (e as Error).message;
    assert.ok(msg.includes(file), `the message names ${file}:\n${msg}`);
    assert.match(msg, pattern);
    assert.match(msg, /hint: /, 'the message says what to do');
    return true;
  });
  const leftovers = existsSync(join(dir, 'dist')) ? readdirSync(join(dir, 'dist')).filter((f) => f.startsWith('.')) : [];
  assert.deepEqual(leftovers, [], 'no temporary output is left behind');
}

function snapshot(dir: string): Record<string, Buffer> | undefined {
  const out = join(dir, 'dist', 'data');
  if (!existsSync(out)) return undefined;
  return Object.fromEntries(readdirSync(out).sort().map((f) => [f, readFileSync(join(out, f))]));
}

interface Case {
  name: string;
  yaml: string;
  /** Writes the good dataset. */
  good(dir: string): void;
  /** Breaks it; returns the file the error must name. */
  break(dir: string): string;
  error: RegExp;
}

const idxGood = (dir: string) => {
  writeIdxDataset(dir, 'train', 30);
  writeIdxDataset(dir, 'test', 6);
};

const cases: Case[] = [
  {
    name: 'a truncated IDX file',
    yaml: IDX_YAML(),
    good: idxGood,
    break: (dir) => {
      const full = idxBytes('u8', [30, 4, 4], new Uint8Array(30 * 16));
      return put(dir, 'train-images.idx', full.subarray(0, full.length - 20)); // records 28 and 29 incomplete
    },
    error: /truncated IDX file: .*30 records.*record 28 is the first incomplete one/,
  },
  {
    name: 'a wrong IDX magic number',
    yaml: IDX_YAML(),
    good: idxGood,
    break: (dir) => {
      const b = idxBytes('u8', [6], new Uint8Array(6));
      b[0] = 0x1f;
      b[1] = 0x00;
      return put(dir, 'test-labels.idx', b);
    },
    error: /wrong magic number 0x1f000801: not an IDX file/,
  },
  {
    name: 'a label/image count mismatch',
    yaml: IDX_YAML(),
    good: idxGood,
    break: (dir) => put(dir, 'train-labels.idx', idxBytes('u8', [29], new Uint8Array(29))),
    error: /label\/image count mismatch: 29 labels for 30 images/,
  },
  {
    name: 'a missing file',
    yaml: IDX_YAML(),
    good: idxGood,
    break: (dir) => {
      unlinkSync(join(dir, 'test-images.idx'));
      return 'test-images.idx';
    },
    error: /does not exist/,
  },
  {
    name: 'NaN in a CSV',
    yaml: 'name: t\ndata:\n  dataset: csv\n  train: { files: [train.csv] }\n  test: { files: [test.csv] }\n',
    good: (dir) => {
      put(dir, 'train.csv', 'x,y,label\n' + Array.from({ length: 10 }, (_, i) => `${i},${i * 2},${i % 2}`).join('\n') + '\n');
      put(dir, 'test.csv', 'x,y,label\n1,2,0\n');
    },
    break: (dir) => put(dir, 'train.csv', 'x,y,label\n1,2,0\n3,4,1\n5,NaN,0\n7,8,1\n'),
    error: /train\.csv:4 \(column 'y', #2\): NaN value/,
  },
  {
    name: 'a non-numeric CSV cell',
    yaml: 'name: t\ndata:\n  dataset: csv\n  train: { files: [train.csv] }\n  test: { files: [test.csv] }\n',
    good: (dir) => {
      put(dir, 'train.csv', 'x,label\n1,0\n2,1\n3,0\n');
      put(dir, 'test.csv', 'x,label\n1,0\n');
    },
    break: (dir) => put(dir, 'test.csv', 'x,label\n1,0\n\n  abc ,1\n'),
    error: /test\.csv:4 \(column 'x', #1\): 'abc' is not a number/,
  },
  {
    name: 'a corrupt npz archive',
    yaml: 'name: z\ndata:\n  dataset: npz\n  train: { files: [train.npz] }\n  test: { files: [train.npz] }\n',
    good: (dir) => {
      const { zipSync } = require('fflate') as typeof import('fflate');
      put(dir, 'train.npz', zipSync({ 'x.npy': encodeNpy(new Float32Array(20), [10, 2]), 'y.npy': encodeNpy(new Int32Array(10).map((_, i) => i % 2), [10]) }));
    },
    break: (dir) => {
      const file = join(dir, 'train.npz');
      const b = readFileSync(file);
      return put(dir, 'train.npz', b.subarray(0, b.length - 30)); // the central directory is cut off
    },
    error: /corrupt \.npz archive/,
  },
  {
    name: 'a truncated CIFAR-10 batch',
    yaml: 'name: c\ndata:\n  dataset: cifar10\n  train: { files: [b.bin] }\n  test: { files: [t.bin] }\n',
    good: (dir) => {
      const b = Buffer.alloc(4 * CIFAR_RECORD);
      for (let r = 0; r < 4; r++) b[r * CIFAR_RECORD] = r % 2; // two classes
      put(dir, 'b.bin', b);
      put(dir, 't.bin', Buffer.alloc(CIFAR_RECORD));
    },
    break: (dir) => put(dir, 'b.bin', Buffer.alloc(3 * CIFAR_RECORD + 100)),
    error: /truncated CIFAR-10 batch: .*record 3 is incomplete/,
  },
  {
    name: 'an .npy label that is not a class index',
    yaml: 'name: n\ndata:\n  dataset: npy\n  train: { x: x.npy, y: y.npy }\n  test: { x: x.npy, y: y.npy }\n',
    good: (dir) => {
      put(dir, 'x.npy', encodeNpy(new Float32Array(8), [4, 2]));
      put(dir, 'y.npy', encodeNpy(new Float32Array([0, 1, 0, 1]), [4]));
    },
    break: (dir) => put(dir, 'y.npy', encodeNpy(new Float32Array([0, 1, 0.5, 1]), [4])),
    error: /y\.npy \(sample 2\): label 0\.5 is not a class index/,
  },
];

describe('data stage: bad input', () => {
  for (const c of cases) {
    it(`${c.name}: a clear error, and no output on a first run`, async () => {
      const p = tempProject(c.yaml);
      try {
        c.good(p.dir);
        const file = c.break(p.dir);
        await expectFailure(p.dir, file, c.error);
        assert.equal(existsSync(join(p.dir, 'dist', 'data')), false, 'dist/data is absent');
      } finally {
        p.cleanup();
      }
    });
    it(`${c.name}: a clear error, and the previous output unchanged`, async () => {
      const p = tempProject(c.yaml);
      try {
        c.good(p.dir);
        await runData(p.dir);
        const before = snapshot(p.dir);
        assert.ok(before && Object.keys(before).includes('report.json'));
        const file = c.break(p.dir);
        await expectFailure(p.dir, file, c.error);
        assert.deepEqual(snapshot(p.dir), before, 'dist/data is unchanged');
      } finally {
        p.cleanup();
      }
    });
  }

  it('a dataset that needs files but names none fails validation at the data section', async () => {
    const p = tempProject('name: t\ndata:\n  dataset: csv\n  train: { files: [a.csv] }\n');
    try {
      await assert.rejects(runData(p.dir), /deepmaker\.yaml:3:3: 'data': missing required key 'test'/);
      assert.equal(existsSync(join(p.dir, 'dist', 'data')), false);
      rmSync(join(p.dir, 'dist'), { recursive: true, force: true });
    } finally {
      p.cleanup();
    }
  });
});
