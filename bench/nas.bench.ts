/**
 * NAS wall time and evaluations (trainings) per hour on a small real budget: the default search
 * space and fidelity on MNIST, 6 candidates x 2 generations, with 1 and with 2 worker processes
 * (the speed-up from the second core for the search). Each run starts from an empty evaluation
 * store. Figures are recorded, never asserted; the load average is recorded with them because other
 * work on the machine changes them.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/**
 * CPU seconds of this process and of its reaped children (the evaluation workers), from
 * /proc/self/stat (Linux; undefined elsewhere). Unlike wall time this hardly depends on what else
 * runs on the machine: on an idle machine with one core per worker, wall ~ CPU / workers.
 */
function cpuSeconds(): number | undefined {
  if (!existsSync('/proc/self/stat')) return undefined;
  const fields = readFileSync('/proc/self/stat', 'utf8').replace(/^.*\) /, '').split(' ');
  // After "pid (comm) ": state is field 3, so utime/stime/cutime/cstime (14-17) are at indices 11-14.
  return fields.slice(11, 15).reduce((s, v) => s + Number(v), 0) / 100;
}

async function run(workers: number) {
  const dir = mkdtempSync(join(tmpdir(), 'dm-nas-bench-'));
  try {
    writeFileSync(join(dir, 'deepmaker.yaml'), SPEC(workers));
    await runSpecStage(dir, silentLogger);
    await runStage('data', dir, dir, silentLogger);
    const load = loadavg()[0];
    const cpu0 = cpuSeconds();
    const [, seconds] = await timed(() => runStage('nas', dir, dir, silentLogger));
    const cpu1 = cpuSeconds();
    const cpu = cpu0 === undefined || cpu1 === undefined ? undefined : cpu1 - cpu0;
    const r = JSON.parse(readFileSync(join(dir, 'dist', 'nas', 'report.json'), 'utf8'));
    return {
      workers,
      wallSeconds: +seconds.toFixed(1),
      candidates: r.candidates,
      trainings: r.trained,
      trainingsPerHour: Math.round((r.trained / seconds) * 3600),
      candidatesPerHour: Math.round((r.candidates / seconds) * 3600),
      cpuSeconds: cpu === undefined ? null : +cpu.toFixed(1),
      trainingsPerCpuHour: cpu ? Math.round((r.trained / cpu) * 3600) : null,
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
