import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { encodeNpy } from '../../src/data/npy';
import { sequenceShape } from '../../src/data/sequence';
import { readDataReport, readSplit } from '../../src/data/tensors';
import { parseSpec, SpecError } from '../../src/spec/load';
import { idxBytes, IDX_YAML, put, runData, tempProject } from './helpers';

describe('data.sequence: rows', () => {
  it('maps [H, W, C] to [H, W·C], keeps [H, W], and refuses other ranks naming the file', () => {
    assert.deepEqual(sequenceShape([28, 28, 1], 'rows', 'f'), [28, 28]);
    assert.deepEqual(sequenceShape([32, 32, 3], 'rows', 'f'), [32, 96]);
    assert.deepEqual(sequenceShape([5, 7], 'rows', 'f'), [5, 7]);
    assert.throws(() => sequenceShape([12], 'rows', 'x.npy'), /x\.npy \(data\.sequence\): data\.sequence: rows reads images .* these samples are \[12\][\s\S]*csv\.window/);
    assert.throws(() => sequenceShape([2, 3, 4, 5], 'rows', 'x.npy'), /x\.npy \(data\.sequence\).*\[2, 3, 4, 5\]/);
  });

  it('writes H steps of W·C features, each row of the image one step, normalised per image channel', async () => {
    // Two-channel 3x4 images: pixel (y, x, c) of image i holds 10·y + x + 100·c + i (distinct per place).
    const n = 12, h = 3, w = 4, c = 2;
    const px = new Float32Array(n * h * w * c);
    for (let i = 0; i < n; i++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) px[((i * h + y) * w + x) * c + k] = 10 * y + x + 100 * k + i;
    const labels = Int32Array.from({ length: n }, (_, i) => i % 2);
    const p = tempProject('name: s\ndata:\n  dataset: npy\n  sequence: rows\n  normalize: standardize\n  validationSplit: 0.25\n  train: { x: x.npy, y: y.npy }\n  test: { x: x.npy, y: y.npy }\n');
    try {
      put(p.dir, 'x.npy', encodeNpy(px, [n, h, w, c]));
      put(p.dir, 'y.npy', encodeNpy(labels, [n]));
      await runData(p.dir);
      const out = join(p.dir, 'dist', 'data');
      const rep = readDataReport(out);
      assert.deepEqual(rep.shape, [3, 8]);
      assert.deepEqual(rep.sequence, { mode: 'rows', imageShape: [3, 4, 2] });
      assert.equal(rep.normalization.offset.length, 2, 'statistics per image channel');
      const test = readSplit(out, 'test');
      assert.deepEqual(test.shape, [3, 8]);
      // Step y, feature x·C + k of test sample i is the normalised pixel (y, x, k).
      const { offset, scale } = rep.normalization;
      for (let i = 0; i < n; i++) for (let y = 0; y < h; y++) for (let f = 0; f < w * c; f++) {
        const x = Math.floor(f / c), k = f % c;
        const want = Math.fround((10 * y + x + 100 * k + i - offset[k]) / scale[k]);
        assert.equal(test.x[(i * h + y) * w * c + f], want, `sample ${i} step ${y} feature ${f}`);
      }
      for (const s of ['train', 'validation'] as const) assert.deepEqual(readSplit(out, s).shape, [3, 8]);
    } finally {
      p.cleanup();
    }
  });

  it('reads IDX images (MNIST layout [N, 28, 28] -> [28, 28])', async () => {
    const p = tempProject(IDX_YAML('  sequence: rows\n'));
    try {
      const px = Uint8Array.from({ length: 20 * 16 }, (_, i) => i % 251);
      put(p.dir, 'train-images.idx', idxBytes('u8', [20, 4, 4], px));
      put(p.dir, 'train-labels.idx', idxBytes('u8', [20], Array.from({ length: 20 }, (_, i) => i % 3)));
      put(p.dir, 'test-images.idx', idxBytes('u8', [20, 4, 4], px));
      put(p.dir, 'test-labels.idx', idxBytes('u8', [20], Array.from({ length: 20 }, (_, i) => i % 3)));
      await runData(p.dir);
      const out = join(p.dir, 'dist', 'data');
      assert.deepEqual(readDataReport(out).shape, [4, 4]);
      const test = readSplit(out, 'test');
      assert.deepEqual(Array.from(test.x.subarray(0, 16), (v) => Math.round(v * 255)), Array.from(px.subarray(0, 16)));
    } finally {
      p.cleanup();
    }
  });

  it('refuses samples that are no images, naming the file', async () => {
    const p = tempProject('name: s\ndata:\n  dataset: npy\n  sequence: rows\n  train: { x: x.npy, y: y.npy }\n  test: { x: x.npy, y: y.npy }\n');
    try {
      put(p.dir, 'x.npy', encodeNpy(new Float32Array(40), [10, 4]));
      put(p.dir, 'y.npy', encodeNpy(Int32Array.from({ length: 10 }, (_, i) => i % 2), [10]));
      await assert.rejects(runData(p.dir), /x\.npy \(data\.sequence\): .*these samples are \[4\]/);
    } finally {
      p.cleanup();
    }
  });

  it('is an error in the spec for CSV, at its line and column', () => {
    const text = 'name: s\ndata:\n  dataset: csv\n  sequence: rows\n  csv: { window: 8 }\n  train: { files: [a.csv] }\n  test: { files: [b.csv] }\n';
    assert.throws(() => parseSpec(text, 'deepmaker.yaml'), (e: unknown) => {
      assert.ok(e instanceof SpecError);
      assert.match(e.message, /deepmaker\.yaml:4:13: 'data\.sequence': data\.sequence reads images as sequences; .*data\.csv\.window/);
      return true;
    });
    assert.throws(() => parseSpec('name: s\ndata:\n  sequence: columns\n', 'deepmaker.yaml'), /deepmaker\.yaml:3:13: 'data\.sequence': must be equal to one of the allowed values: "rows"/);
    assert.equal(parseSpec('name: s\ndata:\n  sequence: rows\n', 'deepmaker.yaml').data.sequence, 'rows');
  });
});
