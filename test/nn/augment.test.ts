import assert from 'node:assert/strict';
import { test } from 'node:test';
import { translateBatch } from '../../src/nn/augment';
import { trainArchitecture, type TrainOptions } from '../../src/nn/train';
import { quadrants, tinyConv } from './fixtures';

/** A 7x6 two-channel image whose every value names its pixel and channel: 100·y + 10·x + c. */
const H = 7;
const W = 6;
const C = 2;
const image = () => Float32Array.from({ length: H * W * C }, (_, i) => 100 * Math.floor(i / (W * C)) + 10 * (Math.floor(i / C) % W) + (i % C));
const at = (a: Float32Array, sample: number, y: number, x: number, c: number) => a[sample * H * W * C + (y * W + x) * C + c];

test('translation moves every pixel by one (dy, dx) per sample, edges filled with the nearest pixel', () => {
  const n = 64;
  const xs = new Float32Array(n * H * W * C);
  for (let i = 0; i < n; i++) xs.set(image(), i * H * W * C);
  const rows = Int32Array.from({ length: n }, (_, i) => 1000 + i);
  translateBatch(xs, [H, W, C], rows, 12345, 2);
  const offsets = new Set<string>();
  for (let i = 0; i < n; i++) {
    // The pixel at (y, x) came from (clamp(y - dy), clamp(x - dx)): recover dy, dx from the central pixel (never clamped).
    const v = at(xs, i, 3, 3, 0);
    const dy = 3 - Math.floor(v / 100);
    const dx = 3 - Math.floor((v % 100) / 10);
    assert.ok(Math.abs(dy) <= 2 && Math.abs(dx) <= 2, `sample ${i}: offset (${dy}, ${dx}) within the shift`);
    offsets.add(`${dy},${dx}`);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++)
        for (let c = 0; c < C; c++) {
          const sy = Math.min(H - 1, Math.max(0, y - dy));
          const sx = Math.min(W - 1, Math.max(0, x - dx));
          assert.equal(at(xs, i, y, x, c), 100 * sy + 10 * sx + c, `sample ${i} (${y}, ${x}, ${c}) with offset (${dy}, ${dx})`);
        }
  }
  assert.ok(offsets.size >= 15, `64 samples draw most of the 25 offsets (${offsets.size})`);
});

test("a sample's offset depends on the batch seed and its row only: shares of a batch agree with the whole", () => {
  const rows = Int32Array.from([7, 3, 11, 42, 5, 8]);
  const whole = new Float32Array(rows.length * H * W * C);
  for (let i = 0; i < rows.length; i++) whole.set(image(), i * H * W * C);
  const parts = [whole.slice(0, 2 * H * W * C), whole.slice(2 * H * W * C)];
  translateBatch(whole, [H, W, C], rows, 99, 3);
  translateBatch(parts[0], [H, W, C], rows.subarray(0, 2), 99, 3);
  translateBatch(parts[1], [H, W, C], rows.subarray(2), 99, 3);
  assert.deepEqual(Array.from(whole), [...parts[0], ...parts[1]]);
  const other = new Float32Array(rows.length * H * W * C);
  for (let i = 0; i < rows.length; i++) other.set(image(), i * H * W * C);
  translateBatch(other, [H, W, C], rows, 100, 3);
  assert.notDeepEqual(Array.from(other), Array.from(whole), 'another batch seed, other offsets');
});

test('training with augmentation: deterministic for a seed, different from training without, and still learns', async () => {
  const data = { train: quadrants(320, 1), validation: quadrants(128, 2) };
  const base: TrainOptions = { epochs: 3, batchSize: 32, learningRate: 0.01, optimizer: 'adam', seed: 7, backend: 'wasm' };
  const run = async (opts: Partial<TrainOptions>) => {
    const r = await trainArchitecture(tinyConv, data, { ...base, ...opts });
    const w = r.model.getWeights().flatMap((t) => Array.from(t.dataSync()));
    r.model.dispose();
    return { r, w };
  };
  const plain = await run({});
  const a = await run({ augment: { shift: 1 } });
  const b = await run({ augment: { shift: 1 } });
  const zero = await run({ augment: { shift: 0 } });
  assert.deepEqual(a.w, b.w, 'same seed, same weights');
  assert.notDeepEqual(a.w, plain.w, 'augmented batches train other weights');
  assert.deepEqual(zero.w, plain.w, 'shift 0 is no augmentation (the batch order is unchanged too)');
  assert.ok(a.r.validationAccuracy > 0.8, `learns the quadrant problem (validation accuracy ${a.r.validationAccuracy})`);
});
