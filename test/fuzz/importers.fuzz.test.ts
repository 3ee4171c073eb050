/**
 * Property-based fuzzing of every importer (issue 15): corrupted Keras 2 HDF5 files, Keras JSON
 * configs with their weights, Keras 3 .keras archives and TensorFlow.js model.json + shards, made
 * from the real fixtures and small generated models (test/fuzz/mutate.ts, test/fuzz/importer-cases.ts).
 * Every case must import or give a DeepMakerError naming one of its files; nothing else may escape.
 *
 * Counts per run: 800 Keras 2 HDF5 (480 with corrupted bytes, 320 rewritten with a corrupted
 * model_config, weight_names, dataset shape or a dataset or group gone) + 1,000 Keras JSON + weights
 * + 1,000 .keras + 1,000 TF.js = 3,800 corrupted models (DM_FUZZ_SCALE multiplies them; DM_FUZZ_SEED changes the seed).
 *
 * Each format runs in a worker thread. A case that has not returned after CASE_LIMIT_MS (a loop in
 * the HDF5 library, a huge allocation) is stopped and fails the test, naming the case: a bound on
 * hangs, not a timing assertion.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import type { CaseStats, Format } from './importer-cases';

const SEED = Number(process.env.DM_FUZZ_SEED ?? 15);
const SCALE = Number(process.env.DM_FUZZ_SCALE ?? 1);
const CASE_LIMIT_MS = 120_000;
const RUNS: Record<Format, number> = { 'keras-h5': 800, 'keras-json': 1000, 'keras-v3': 1000, tfjs: 1000 };

function runWorker(format: Format, runs: number): Promise<CaseStats & { holes: string[] }> {
  return new Promise((resolve, reject) => {
    // The cases are TypeScript: the worker registers tsx's require hook, then loads them.
    const w = new Worker(`require('tsx/cjs'); require(${JSON.stringify(join(__dirname, 'importer-cases.ts'))});`, { eval: true, workerData: { format, runs, seed: SEED } });
    let last = 'starting (building the seed models)';
    let timer: NodeJS.Timeout;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        void w.terminate();
        reject(new Error(`${format}: no progress for ${CASE_LIMIT_MS / 1000} s in case ${last}`));
      }, CASE_LIMIT_MS);
    };
    arm();
    w.on('message', (m: any) => {
      arm();
      if (m.t === 'case') last = `#${m.n} ${m.what}`;
      else if (m.t === 'done') {
        clearTimeout(timer);
        void w.terminate();
        resolve({ ...m.stats, holes: m.holes });
      } else if (m.t === 'fail') {
        clearTimeout(timer);
        void w.terminate();
        reject(new Error(`${format}: ${m.message}`));
      }
    });
    w.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${format}: the worker died in case ${last}: ${e?.stack ?? e}`));
    });
    w.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${format}: the worker exited (${code}) in case ${last}`));
    });
  });
}

describe('fuzz: importers (corrupted model files)', () => {
  for (const format of Object.keys(RUNS) as Format[]) {
    it(`${format}: ${Math.round(RUNS[format] * SCALE)} corrupted files import or give a DeepMakerError naming the file`, async () => {
      const s = await runWorker(format, Math.round(RUNS[format] * SCALE));
      assert.deepEqual(s.holes, []);
      assert.equal(s.cases, Math.round(RUNS[format] * SCALE));
      // Both outcomes occur: the corruptions reach past the first check, and they are refused.
      assert.ok(s.refused > 0 && s.imported > 0, JSON.stringify(s));
      console.log(`fuzz ${format}: ${s.cases} cases, ${s.imported} imported, ${s.refused} refused with a DeepMakerError`);
    });
  }
});
