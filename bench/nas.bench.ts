/**
 * NAS wall time and evaluations (trainings) per hour on a small real budget: the default search
 * space and fidelity on MNIST, 6 candidates x 2 generations, with 1 and with 2 worker processes
 * (the speed-up from the second core for the search). Each run starts from an empty evaluation
 * store. Figures are recorded, never asserted; the load average is recorded with them because other
 * work on the machine changes them.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSpecStage, runStage } from '../src/plugin/runner';
import { silentLogger } from '../src/util/log';
import { recordBench, timed } from './util';

const SPEC = (workers: number) => `name: nasbench
data:
  dataset: mnist
  limit: { train: 12000, test: 1000 }
search:
  population: 6
  generations: 2
  fidelity: { subset: 2048, epochs: [1, 2], promote: 0.5 }
  constraints: { maxWeightBits: device, maxMacs: 600000 }
  workers: ${workers}
`;

async function run(workers: number) {
  const dir = mkdtempSync(join(tmpdir(), 'dm-nas-bench-'));
  try {
    writeFileSync(join(dir, 'deepmaker.yaml'), SPEC(workers));
    await runSpecStage(dir, silentLogger);
    await runStage('data', dir, dir, silentLogger);
    const load = loadavg()[0];
    const [, seconds] = await timed(() => runStage('nas', dir, dir, silentLogger));
    const r = JSON.parse(readFileSync(join(dir, 'dist', 'nas', 'report.json'), 'utf8'));
    return {
      workers,
      wallSeconds: +seconds.toFixed(1),
      candidates: r.candidates,
      trainings: r.trained,
      trainingsPerHour: Math.round((r.trained / seconds) * 3600),
      candidatesPerHour: Math.round((r.candidates / seconds) * 3600),
      selectedValidationError: r.selected.error,
      loadAverageAtStart: +load.toFixed(2),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const one = await run(1);
  const two = await run(2);
  recordBench('nas', {
    budget: '6 candidates x 2 generations, fidelity 1/2 epochs on 2,048 MNIST samples (successive halving, promote 0.5), validation on 1,200 samples',
    oneWorker: one,
    twoWorkers: two,
    speedupFromSecondWorker: +(one.wallSeconds / two.wallSeconds).toFixed(2),
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
