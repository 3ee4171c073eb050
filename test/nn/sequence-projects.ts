/**
 * Tiny sequence-image projects for the recurrent tests: images of H×W bytes read as H time steps
 * (data.sequence: rows), run through the stages as a user runs them (spec -> data -> nas -> train ->
 * convert -> verify).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStage } from '../../src/stages/run';
import { silentLogger } from '../../src/util/log';
import { idxBytes, put } from '../data/helpers';

/**
 * Images of H×W bytes, one bright row among dim ones (seeded). `classes` 3: the class is which
 * third of the image holds the row; `classes` H: the row itself (the cell must count the steps).
 */
export function rowTask(n: number, seed: number, opts: { h?: number; w?: number; classes?: number } = {}) {
  const h = opts.h ?? 6, w = opts.w ?? 4, classes = opts.classes ?? 3;
  let s = seed >>> 0;
  const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
  const px = new Uint8Array(n * h * w), labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const row = Math.floor(rand() * h);
    for (let j = 0; j < h * w; j++) px[i * h * w + j] = Math.floor(rand() * 60);
    for (let x = 0; x < w; x++) px[(i * h + row) * w + x] = 200 + Math.floor(rand() * 55);
    labels[i] = Math.floor((classes * row) / h);
  }
  return { px, labels, h, w };
}

export const FAST_VERIFY = 'verify: { samples: 60, sweep: [], sanitizeSamples: 0, traceSamples: 10, searchSamples: 60 }\n';

export async function runFlow(dir: string): Promise<{ train: any; verify: any; layers: any[] }> {
  for (const stage of ['spec', 'data', 'nas', 'train', 'convert', 'verify']) await runStage(stage, dir, dir, silentLogger);
  const read = (f: string) => JSON.parse(readFileSync(join(dir, 'dist', f), 'utf8'));
  return { train: read('train/report.json'), verify: read('verify/report.json'), layers: read('convert/layers.json').layers ?? read('convert/layers.json') };
}

/**
 * A project folder of row-task images (train 360, test 60 unless given), the architecture's YAML
 * lines, and `extra` spec sections (quantize: { mode: float } unless `extra` has a quantize section;
 * the fast verify section unless it has a verify section).
 */
export function imageProject(architecture: string, extra = '', epochs = 3, task: { classes?: number; train?: number; test?: number } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'dm-rnn-train-'));
  for (const [split, n, seed] of [['train', task.train ?? 360, 1], ['test', task.test ?? 60, 2]] as const) {
    const t = rowTask(n, seed, { classes: task.classes });
    put(dir, `${split}-images.idx`, idxBytes('u8', [n, t.h, t.w], t.px));
    put(dir, `${split}-labels.idx`, idxBytes('u8', [n], t.labels));
  }
  writeFileSync(
    join(dir, 'deepmaker.yaml'),
    `name: rnn
data:
  dataset: idx
  sequence: rows
  train: { images: train-images.idx, labels: train-labels.idx }
  test: { images: test-images.idx, labels: test-labels.idx }
search: { enabled: false }
train:
  architecture:
${architecture}
  epochs: ${epochs}
  batchSize: 16
  learningRate: 0.02
  backend: wasm
${extra.includes('quantize:') ? '' : 'quantize: { mode: float }\n'}${extra.includes('verify:') ? '' : FAST_VERIFY}${extra}`,
  );
  return dir;
}
