/**
 * LeNet-5 training speed on MNIST (batch 64, Adam): images/s for every TensorFlow.js backend that
 * loads here, and what the second core adds, two ways:
 *  - data-parallel training of one model over 2 threads (train.workers: 2);
 *  - two independent trainings in two processes (what the search does with 2 workers).
 * The machine may be shared: the load average before and after each figure is recorded with it.
 * Usage: npm run bench -- train   (BENCH_TRAIN_IMAGES overrides the 4,096 images per run)
 */
import { fork } from 'node:child_process';
import { loadavg } from 'node:os';
import { recordBench } from './util';
import { mnistSample } from './mnist-sample';
import { trainArchitecture } from '../src/nn/train';
import type { BackendPreference } from '../src/nn/backend';
import { LENET5, type Architecture } from '../src/nn/arch';

const lenet5 = LENET5;

const IMAGES = Number(process.env.BENCH_TRAIN_IMAGES ?? 4096);

async function run(backend: BackendPreference, images: number, workers = 1) {
  const data = { train: mnistSample('train', 0, images), validation: mnistSample('train', 59000, 256) };
  const load = loadavg()[0];
  const cpu = process.cpuUsage();
  const r = await trainArchitecture(lenet5, data, { epochs: 1, batchSize: 64, learningRate: 0.001, optimizer: 'adam', seed: 1, backend, workers });
  const used = process.cpuUsage(cpu);
  const out = {
    backend: r.backend,
    workers,
    images,
    imagesPerSecond: Math.round(r.imagesPerSecond),
    // CPU time of every thread (backend start-up and validation included): robust to other load on the machine.
    imagesPerCpuSecond: Math.round(images / ((used.user + used.system) / 1e6)),
    loadBefore: +load.toFixed(2),
    loadAfter: +loadavg()[0].toFixed(2),
  };
  r.model.dispose();
  return out;
}

/** Two processes, each training its own LeNet-5 at the same time; aggregate images/s. */
function twoProcesses(images: number): Promise<{ processes: number; imagesPerSecond: number; each: number[] }> {
  const one = () =>
    new Promise<number>((resolve, reject) => {
      const child = fork(__filename, ['--child', String(images)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
      child.on('message', (m: { imagesPerSecond: number }) => resolve(m.imagesPerSecond));
      child.on('error', reject);
      child.on('exit', (code) => code !== 0 && reject(new Error(`bench child exited with ${code}`)));
    });
  return Promise.all([one(), one()]).then((each) => ({ processes: 2, imagesPerSecond: each.reduce((a, b) => a + b, 0), each }));
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') {
    const r = await run('wasm', Number(process.argv[3]));
    process.send!({ imagesPerSecond: r.imagesPerSecond });
    return;
  }
  const figures: Record<string, unknown> = { model: 'LeNet-5 (61,706 params)', batchSize: 64, images: IMAGES };
  const backends: Record<string, unknown> = {};
  for (const b of ['node', 'wasm', 'cpu'] as const) {
    try {
      // The pure-JS cpu backend runs ~20 images/s: measure it briefly.
      backends[b] = await run(b, b === 'cpu' ? 256 : IMAGES);
    } catch (e) {
      backends[b] = { loaded: false, reason: (e as Error).message.split('\n')[0] };
    }
  }
  figures.backends = backends;
  const single = await run('wasm', IMAGES, 1);
  const threads = await run('wasm', IMAGES, 2);
  const processes = await twoProcesses(IMAGES);
  figures.secondCore = {
    oneThread: single,
    dataParallelTwoThreads: threads,
    dataParallelSpeedup: +(threads.imagesPerSecond / single.imagesPerSecond).toFixed(2),
    twoIndependentProcesses: processes,
    independentProcessesSpeedup: +(processes.imagesPerSecond / single.imagesPerSecond).toFixed(2),
    wasmThreads: 'not available under Node: tfjs-backend-wasm disables its threaded build when IS_NODE (tfjs issue #3830); forcing it and serving the worker script from a file still gave getThreadsCount() = 1',
  };
  recordBench('train', figures);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
