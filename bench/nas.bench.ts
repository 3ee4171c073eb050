/**
 * NAS wall time and evaluations (trainings) per hour on a small real budget: the default search
 * space and fidelity on MNIST, 6 candidates x 2 generations, with 1 and with 2 worker processes
 * (the speed-up from the second core for the search), and, when redis-server is installed, through
 * the job queue (search.queue) with two `deepmaker worker` processes on this machine: the queue's
 * overhead beside two local workers. Each run starts from an empty evaluation store. Figures are
 * recorded, never asserted; the load average is recorded with them because other work on the machine
 * changes them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSpecStage, runStage } from '../src/stages/run';
import { silentLogger } from '../src/util/log';
import { startRedis, startWorker, type WorkerProc } from '../test/nas/fixtures/queue-procs';
import { recordBench, timed } from './util';

const SPEC = (workers: number, queue?: string) => `name: nasbench
data:
  dataset: mnist
  limit: { train: 12000, test: 1000 }
search:
  population: 6
  generations: 2
  fidelity: { subset: 2048, epochs: [1, 2], promote: 0.5 }
  constraints: { maxWeightBits: device, maxMacs: 600000 }
  workers: ${workers}
${queue ? `  queue: ${queue}\n` : ''}`;

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

async function run(workers: number, queueWorkers = 0) {
  const dir = mkdtempSync(join(tmpdir(), 'dm-nas-bench-'));
  let redis: Awaited<ReturnType<typeof startRedis>> | undefined;
  const remote: WorkerProc[] = [];
  try {
    if (queueWorkers) {
      mkdirSync(join(dir, 'redis'));
      redis = await startRedis(join(dir, 'redis'));
    }
    writeFileSync(join(dir, 'deepmaker.yaml'), SPEC(workers, redis?.url));
    await runSpecStage(dir, silentLogger);
    await runStage('data', dir, dir, silentLogger);
    // The queue's workers wait, started, before the clock starts (as on machines that serve a team's queue).
    for (let i = 0; i < queueWorkers; i++) remote.push(await startWorker(redis!.url, dir, `bench-${i}`, undefined, []));
    const load = loadavg()[0];
    const cpu0 = cpuSeconds();
    const [, seconds] = await timed(() => runStage('nas', dir, dir, silentLogger));
    const cpu1 = cpuSeconds();
    // The queue's workers are not reaped before the end: their CPU time is not counted, so none is reported.
    const cpu = queueWorkers || cpu0 === undefined || cpu1 === undefined ? undefined : cpu1 - cpu0;
    const r = JSON.parse(readFileSync(join(dir, 'dist', 'nas', 'report.json'), 'utf8'));
    return {
      workers,
      ...(queueWorkers ? { queueWorkers } : {}),
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
    await Promise.all(remote.map((w) => w.stop()));
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const one = await run(1);
  const two = await run(2);
  const haveRedis = spawnSync('redis-server', ['--version']).status === 0;
  if (!haveRedis) console.log('[bench nas] redis-server is not installed: no queue row (apt-get install redis-server)');
  const queue = haveRedis ? await run(0, 2) : undefined;
  recordBench('nas', {
    budget: '6 candidates x 2 generations, fidelity 1/2 epochs on 2,048 MNIST samples (successive halving, promote 0.5), validation on 1,200 samples',
    oneWorker: one,
    twoWorkers: two,
    speedupFromSecondWorker: +(one.wallSeconds / two.wallSeconds).toFixed(2),
    ...(queue
      ? {
          // Two `deepmaker worker` processes on this machine, a redis-server on loopback, the stage training nothing itself.
          twoQueueWorkers: queue,
          sameSelectedErrorAsLocal: queue.selectedValidationError === two.selectedValidationError,
          // Extra wall time per training of the queue run over two local worker processes.
          queueOverheadPerTrainingSeconds: +((queue.wallSeconds - two.wallSeconds) / queue.trainings).toFixed(3),
        }
      : {}),
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
