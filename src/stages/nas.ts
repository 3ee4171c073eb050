/**
 * The nas stage: multi-objective architecture search over the data stage's output.
 *
 * Reads dist/spec/nas.json (search, quantize, target.device, model) and dist/data; writes
 *   candidates.jsonl  one line per candidate, in evaluation order (genome, architecture, values, rungs)
 *   pareto.json       the feasible Pareto set (id, error, params, macs, weightBits, architecture, ...)
 *   pareto.svg        error vs params and error vs MACs, the front highlighted
 *   hypervolume.svg   hypervolume of the Pareto set per generation
 *   selected.json     the Architecture handed to train (search.select)
 *   report.json       NasReport
 * Evaluations are stored in .deepmaker/nas/evals under the workspace root (content-addressed), so an
 * interrupted search resumes where it stopped, a larger `generations` reuses every earlier
 * evaluation, and projects running the same search on the same data share its trainings (e.g. two
 * projects that select different members of one front).
 * With search.enabled false, or a spec that starts from an existing model, it writes only a report
 * {skipped: true, reason}; train then uses train.architecture.
 */
import { writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { readNpy } from '../data/npy';
import { readDataReport, splitFiles } from '../data/tensors';
import type { AlgorithmName } from '../moo/run';
import type { ArchActivation } from '../nn/arch';
import type { StageContext } from './context';
import { DEFAULT_ACTIVATIONS, DEFAULT_NUMERICS, fineTuneLearningRate, resolveQuantization, type QuantizeSpec } from '../quant/config';
import type { Overflow, Rounding } from '../numerics/fixed';
import { RECURRENT_MAX_BITS } from '../rtl/recurrent-plan';
import type { SearchSpec, TrainRecipe } from '../spec/types';
import { DeepMakerError } from '../util/errors';
import type { Logger } from '../util/log';
import { canonicalJson, sha256File } from '../util/fs';
import { EvaluationStore, type EvaluatorRef, type SearchTraining } from '../nas/evaluation';
import { quantizationForCounting, resolveConstraints } from '../nas/objectives';
// Registers the hardware objectives `cycles` and `luts` (the DSE cost model for target.device).
import '../dse/nas-objectives';
import { runSearch, type Candidate, type SearchResult } from '../nas/search';
import { describeSelect, rankCandidates, selectCandidate } from '../nas/select';
import { regretReport, type RegretReport } from '../nas/regret';
import { Rng } from '../moo/rng';
import { estimateFeasibleSpan, feasibility, spanReport, type SpanReport } from '../nas/span';
import type { SearchSpace, SpaceContext } from '../nas/space';
import { chainSpace } from '../nas/spaces/chain';
import { denseNetSpace } from '../nas/spaces/densenet';
import { recurrentSpace } from '../nas/spaces/recurrent';
import { compact, hypervolumeSvg, paretoSvg } from '../nas/svg';
import { TRAIN_EVALUATOR } from '../nas/train-evaluator';
import type { EvaluationPool } from '../nas/pool';
import { combineDataHash, QueuePool, type DataFiles } from '../nas/queue';

/** Where trainings are stored: one content-addressed store per workspace (keys hold everything a result depends on). */
export function evaluationStoreDir(workspaceRoot: string): string {
  return join(workspaceRoot, '.deepmaker', 'nas', 'evals');
}

export interface NasView {
  search: SearchSpec;
  quantize: QuantizeSpec;
  target: { device: string };
  dse?: { maxLanes?: number };
  model?: string;
  /** With search.training.quantizedEpochs: the C's rounding and overflow (convert), which the quantized twin trains with. */
  numerics?: { rounding: Rounding; overflow: Overflow };
  /** With search.training.quantizedEpochs: train.learningRate, from which the twin's fine-tuning rate follows as in the train stage. */
  trainLearningRate?: number;
  /** With search.fidelity.final.recipe train: the train stage's settings, which the confirmation trains with. */
  train?: TrainRecipe;
}

/**
 * The confirmation's training with search.fidelity.final.recipe train: the train stage's settings and seed, its early
 * stopping, and quantize's plan with its own fine-tuning epochs and rate (resolved as the train stage resolves them,
 * src/quant/train-stage.ts), so that the network is trained as the train stage will train it.
 */
export function recipeTraining(view: Pick<NasView, 'train' | 'quantize' | 'numerics'>): SearchTraining {
  const t = view.train!;
  const plan = view.quantize.mode === 'float' ? undefined : resolveQuantization(view.quantize, view.numerics ?? DEFAULT_NUMERICS);
  return {
    batchSize: t.batchSize,
    learningRate: t.learningRate,
    optimizer: t.optimizer,
    backend: t.backend,
    ...(t.augment ? { augment: t.augment } : {}),
    ...(t.batchNormStatistics ? { batchNormStatistics: t.batchNormStatistics } : {}),
    ...(t.schedule === 'cosine' ? { schedule: 'cosine' as const } : {}),
    ...(t.earlyStopping ? { earlyStopping: t.earlyStopping } : {}),
    seed: t.seed,
    ...(plan ? { quantize: { ...plan, fineTune: { ...plan.fineTune, learningRate: fineTuneLearningRate(plan, t.learningRate) } } } : {}),
  };
}

export interface ParetoEntry {
  id: string;
  error: number | null;
  validationAccuracy: number | null;
  params: number;
  macs: number;
  weightBits: number;
  /** Any further objective values (hardware objectives once registered). */
  values: Record<string, number>;
  /** Epochs and samples of the training the error comes from. */
  epochs: number | null;
  subset: number;
  generation: number;
  description: string;
  /** The confirmation rung's error (all training data, search.fidelity.final.epochs), when it was confirmed. */
  finalError?: number;
}

/** report.selected: with a confirmation rung, `error`, `epochs` and `subset` are the final fidelity's and `lowFidelityError` the search's. */
export interface SelectedEntry extends ParetoEntry {
  lowFidelityError?: number | null;
}

export type NasReport =
  | { skipped: true; reason: string }
  | {
      skipped: false;
      algorithm: AlgorithmName;
      space: string;
      objectives: string[];
      constraints: { objective: string; limit: number }[];
      fidelity: SearchSpec['fidelity'];
      /** Σ epochs × training samples over the search's trainings (the confirmation rung's in confirmation.sampleEpochs). */
      sampleEpochs: number;
      population: number;
      generations: number;
      /** Candidates proposed (each a distinct architecture). */
      candidates: number;
      feasible: number;
      /** Trainings asked for (every rung of every candidate), and how many came from the store. */
      evaluations: number;
      cacheHits: number;
      /** Trainings actually run in this invocation. */
      trained: number;
      pareto: ParetoEntry[];
      /** Normalised hypervolume of the Pareto set after each generation. */
      hypervolume: number[];
      /** Objective values that map to 1 in the hypervolume (error first). */
      hypervolumeReference: number[];
      selected: SelectedEntry;
      select: string;
      /** The confirmation rung and the selection regret, with search.fidelity.final. */
      confirmation?: RegretReport;
      /** The size range: the candidates' and the front's params and MACs against the feasible space's, and how that was estimated. */
      span: SpanReport;
      workers: number;
      /** search.queue, when the trainings went through the job queue. */
      queue?: string;
      /** Trainings run in this invocation, per worker (host:pid or a queue worker's name), the confirmation rung's included. */
      trainedBy: Record<string, number>;
      wallSeconds: number;
      files: string[];
    };

/**
 * The search space `name` over `ctx.input`. densenet and chain search image networks ([H, W, C]),
 * recurrent sequence networks ([timesteps, features]); any other pairing is a DeepMakerError
 * naming search.space (before, densenet or chain on a sequence made every candidate unbuildable).
 */
export function makeSpace(name: SearchSpec['space'], ctx: SpaceContext, file?: string): SearchSpace<unknown> {
  const shape = `[${ctx.input.join(', ')}]`;
  if (name === 'recurrent') {
    if (ctx.input.length !== 2) {
      throw new DeepMakerError(
        `search.space recurrent searches sequence networks, but the data's samples are ${shape}, not [timesteps, features]`,
        { file, where: 'search.space' },
        ctx.input.length === 3 ? 'read the images as sequences with data.sequence: rows (H steps of W·C features), or search images with space: chain or densenet' : 'give sequences: data.csv.window for a CSV time series, data.sequence: rows for images',
      );
    }
    return recurrentSpace(ctx) as unknown as SearchSpace<unknown>;
  }
  if (ctx.input.length !== 3) {
    throw new DeepMakerError(
      `search.space ${name} searches image networks (convolutions and pools over [height, width, channels]), but the data's samples are ${shape}`,
      { file, where: 'search.space' },
      ctx.input.length === 2 ? 'the data are sequences [timesteps, features]: use search.space: recurrent (stacked LSTM/GRU/SimpleRNN layers)' : 'give image data, or set search.enabled: false and describe the network in train.architecture',
    );
  }
  return (name === 'chain' ? chainSpace(ctx) : denseNetSpace(ctx)) as unknown as SearchSpace<unknown>;
}

/** Hardware objectives (and their constraints maxCycles, maxLuts): the DSE cost model (src/dse/nas-objectives.ts). */
const HARDWARE_OBJECTIVES = ['cycles', 'luts'];

/**
 * How candidates are trained: search.training, plus the resolved quantize plan (its fine-tuning
 * epochs = search.training.quantizedEpochs) when the search is quantization-aware. The plan is
 * resolved as the train stage resolves it (the C's rounding and overflow), so the twin fine-tuned
 * in the search is the one the train stage fine-tunes.
 */
export function searchTraining(s: SearchSpec, quantize: QuantizeSpec, numerics: { rounding: Rounding; overflow: Overflow } | undefined, specFile: string, trainLearningRate?: number): SearchTraining {
  const { quantizedEpochs, ...training } = s.training;
  if (!quantizedEpochs) return training;
  if (quantize.mode === 'float') {
    throw new DeepMakerError(
      `search.training.quantizedEpochs is ${quantizedEpochs} but quantize.mode is float: there is no quantized twin to fine-tune`,
      { file: specFile, where: 'search.training.quantizedEpochs' },
      'set quantize.mode to fixed or ternary, or remove search.training.quantizedEpochs',
    );
  }
  const plan = resolveQuantization(quantize, numerics ?? DEFAULT_NUMERICS);
  // The twin fine-tunes at the train stage's rate (train.learningRate through quantize.fineTune's rule), not at
  // search.training's: a float rate for a few low-fidelity epochs is too high for a ternary network (session 13:
  // one candidate's twin error 12.8% at 0.01 against 9.3% at the train stage's 0.002).
  const learningRate = fineTuneLearningRate(plan, trainLearningRate ?? training.learningRate);
  // The twin's few epochs stop as search.training's do, in one phase: quantize.fineTune.earlyStopping and weightsFirst
  // are the train stage's (and the confirmation's, recipeTraining), and leaving them out keeps the low-fidelity keys
  // what they were.
  const { earlyStopping: _trainStageStopping, weightsFirst: _trainStagePhase, ...fineTune } = plan.fineTune;
  return { ...training, quantize: { ...plan, fineTune: { ...fineTune, epochs: quantizedEpochs, learningRate } } };
}

/**
 * What the recurrent space cannot be searched with, found before any training: the hardware
 * objectives where the RTL could build no candidate — activations wider than the recurrent engine's
 * ROM tables take (RECURRENT_MAX_BITS), or float training, whose networks the search costs at the
 * C's 16-bit default (every candidate would get the unbuildable value 1e12 and, as a constraint, none
 * would be trained) — and ternary quantization (the train stage trains ternary LSTM and SimpleRNN layers,
 * FaCT-LSTM, but the search's weight-memory count, src/nas/objectives.ts weightMemoryBits, has no
 * per-column scales of ternary recurrent layers and the space draws GRUs, which ternary mode refuses).
 */
function checkRecurrentSearch(s: SearchSpec, quantize: QuantizeSpec | undefined, file: string): void {
  const objectives = s.objectives.filter((o) => HARDWARE_OBJECTIVES.includes(o));
  const constraints = (['maxCycles', 'maxLuts'] as const).filter((k) => s.constraints?.[k] !== undefined);
  const mode = quantize?.mode ?? 'fixed';
  const bits = quantize?.activations?.bits ?? DEFAULT_ACTIVATIONS.bits;
  if ((objectives.length || constraints.length) && (mode === 'float' || bits > RECURRENT_MAX_BITS)) {
    const what = [...objectives.map((o) => `search.objectives ${o}`), ...constraints.map((c) => `search.constraints.${c}`)];
    const why = mode === 'float' ? 'quantize.mode float (the search costs float networks at the C\'s 16-bit default)' : `quantize.activations.bits ${bits}`;
    throw new DeepMakerError(
      `${what.join(' and ')} with ${why}: the RTL builds recurrent layers whose activations have at most ${RECURRENT_MAX_BITS} bits (ROM tables), so every candidate of search.space recurrent would be unbuildable (1e12) and ${constraints.length ? 'none would be trained' : 'the objective would not rank them'}`,
      { file, where: mode === 'float' ? 'quantize.mode' : 'quantize.activations.bits' },
      `search with quantize: { mode: fixed, activations: { bits: ${RECURRENT_MAX_BITS} or fewer } }, or rank recurrent networks by [error, params, macs] and give search.constraints without maxLuts/maxCycles (its default holds maxLuts: device)`,
    );
  }
  if (mode === 'ternary') {
    throw new DeepMakerError(
      'quantize.mode ternary: the recurrent search does not rank ternary networks (its weight-memory objective counts no ternary recurrent scales, and its space draws GRU cells, which ternary mode refuses)',
      { file, where: 'quantize.mode' },
      'search with quantize.mode: fixed (or float with convert.format: fixed), then train the selected LSTM or SimpleRNN ternary in a spec with search.enabled: false and train.architecture (see models/mnist-lstm-ternary)',
    );
  }
}

/** sha256 of each training and validation tensor (queue jobs name their data by them). */
export async function dataFileHashes(dataDir: string): Promise<DataFiles> {
  const out: Partial<DataFiles> = {};
  for (const split of ['train', 'validation'] as const) {
    const f = splitFiles(split);
    out[f.x as keyof DataFiles] = await sha256File(join(dataDir, f.x));
    out[f.y as keyof DataFiles] = await sha256File(join(dataDir, f.y));
  }
  return out as DataFiles;
}

/** sha256 over the training and validation tensors: part of every evaluation key. */
export async function dataHash(dataDir: string): Promise<string> {
  return combineDataHash(await dataFileHashes(dataDir));
}

export function paretoEntry(c: Candidate): ParetoEntry {
  const top = c.rungs.find((r) => r.rung === c.rung);
  const { params, macs, weightBits, ...rest } = c.values;
  return {
    id: c.id,
    error: c.error,
    validationAccuracy: top ? top.validationAccuracy : null,
    params,
    macs,
    weightBits,
    values: rest,
    epochs: top ? top.epochs : null,
    subset: top ? top.subset : 0,
    generation: c.generation,
    description: c.description,
    ...(c.final ? { finalError: c.final.error } : {}),
  };
}

function selectedEntry(c: Candidate): SelectedEntry {
  const e = paretoEntry(c);
  if (!c.final) return e;
  return { ...e, error: c.final.error, validationAccuracy: c.final.validationAccuracy, epochs: c.final.epochs, subset: c.final.subset, lowFidelityError: c.error };
}

/** Trainings of this invocation (not from the store) per worker: every rung's and the confirmation rung's. */
function trainedBy(candidates: Candidate[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of candidates) {
    for (const r of [...c.rungs, ...(c.final ? [c.final] : [])]) if (!r.cached && r.worker) out[r.worker] = (out[r.worker] ?? 0) + 1;
  }
  return out;
}

/** Rows of the training split (the confirmation rung trains on all of them). */
function trainRows(dataDir: string): number {
  return readNpy(join(dataDir, splitFiles('train').y)).shape[0];
}

export interface NasRunOptions {
  /** The evaluator (tests substitute a cheap synthetic one; the stage trains). */
  evaluator?: EvaluatorRef;
}

export async function runNasStage(ctx: StageContext<NasView>, opts: NasRunOptions = {}): Promise<void> {
  const writeReport = (r: NasReport) => writeFileSync(join(ctx.outDir, 'report.json'), canonicalJson(r));
  const s = ctx.spec.search;
  if (ctx.spec.model) {
    const reason = `the spec starts from an existing model (${ctx.spec.model}); there is nothing to search`;
    ctx.log.info(`skipped: ${reason}`);
    return writeReport({ skipped: true, reason });
  }
  if (!s.enabled) {
    const reason = 'search.enabled is false; train uses train.architecture';
    ctx.log.info(`skipped: ${reason}`);
    return writeReport({ skipped: true, reason });
  }
  if (!s.objectives.includes('error')) {
    throw new DeepMakerError(`search.objectives is [${s.objectives.join(', ')}] without 'error'`, { where: 'search.objectives' }, 'add error: the search ranks networks by validation error and their costs together');
  }
  const started = Date.now();
  const dataDir = ctx.inputDir('data');
  const data = readDataReport(dataDir);
  const specFile = join(ctx.projectRoot, 'deepmaker.yaml');
  const space = makeSpace(s.space, { input: data.shape, classes: data.classes, activations: s.activations as ArchActivation[], ...(s.stemStrides ? { stemStrides: s.stemStrides } : {}) }, specFile);
  if (space.name === 'recurrent') checkRecurrentSearch(s, ctx.spec.quantize, specFile);
  const quantization = quantizationForCounting(ctx.spec.quantize);
  const constraints = resolveConstraints(s.constraints, ctx.spec.target.device);
  const training = searchTraining(s, ctx.spec.quantize, ctx.spec.numerics, specFile, ctx.spec.trainLearningRate);
  if (s.workers === 0 && !s.queue) {
    throw new DeepMakerError('search.workers is 0 and search.queue is not set: nothing would train', { where: 'search.workers' }, 'set search.workers to 1 or more, or search.queue to a Redis URL that workers serve');
  }
  const schedule = s.fidelity.schedule ?? 'rungs';
  const final = s.fidelity.final;
  const trainCount = trainRows(dataDir);
  const byRecipe = final?.recipe === 'train';
  if (byRecipe && !ctx.spec.train) throw new Error('the nas view has no train section for search.fidelity.final.recipe train');
  const finalEpochs = byRecipe ? ctx.spec.train!.epochs : final?.epochs ?? 0;
  ctx.log.info(
    `${s.algorithm} over the ${s.space} space: population ${s.population}, ${s.generations} generations, objectives ${s.objectives.join(', ')}` +
      `${constraints.length ? `, constraints ${constraints.map((c) => `${c.objective} <= ${c.limit}`).join(', ')}` : ''}; ` +
      `fidelity ${s.fidelity.epochs.join('/')} epochs on ${s.fidelity.subset}${s.fidelity.stratify ? ' class-stratified' : ''} samples (${schedule === 'rungs' ? '' : `${schedule}, `}promote ${s.fidelity.promote})` +
      `${final ? `, then the best ${final.top}${final.candidates === 'per-depth' ? ' depths' : ''} confirmed ${byRecipe ? `as the train stage trains them (train.epochs ${finalEpochs}${ctx.spec.quantize.mode === 'float' ? '' : ', then quantize.fineTune'})` : `with ${finalEpochs} epoch${finalEpochs > 1 ? 's' : ''}`} on all ${trainCount}` : ''}; ` +
      (s.queue ? `trainings through the queue ${s.queue}, ${s.workers} local workers` : `${s.workers} workers`),
  );
  if (s.queue && schedule === 'asha') {
    // asha's decisions depend on how many trainings are in flight, so that number is fixed by the
    // spec (search.workers), not by how many queue workers happen to be running.
    ctx.log.warn(
      `fidelity.schedule asha starts at most ${Math.max(1, s.workers)} training${Math.max(1, s.workers) > 1 ? 's' : ''} at a time (search.workers), however many queue workers take jobs; ` +
        'raise search.workers (local processes) to keep more queue workers busy, or use rungs or hyperband, which queue a whole rung at once',
    );
  }
  const evaluator = opts.evaluator ?? TRAIN_EVALUATOR;
  const files = await dataFileHashes(dataDir);
  const hash = combineDataHash(files);
  // With search.queue, trainings go to the BullMQ queue (checked first: an unreachable Redis is an
  // error naming the URL, never a silent local run); the search itself is the same either way.
  let pool: EvaluationPool | undefined;
  if (s.queue) {
    const project = relative(ctx.workspaceRoot, ctx.projectRoot).split(sep).join('/') || '.';
    if (project.startsWith('..')) throw new DeepMakerError(`the project ${ctx.projectRoot} is outside the workspace ${ctx.workspaceRoot}`, { where: 'search.queue' }, 'queue workers find a project by its path in the workspace');
    pool = await QueuePool.open({ url: s.queue, context: { searchSeed: s.seed, evaluator, data: { project, hash, files } }, log: ctx.log, localWorkers: s.workers, workspaceRoot: ctx.workspaceRoot });
  }
  const result: SearchResult = await runSearch({
    space,
    algorithm: s.algorithm,
    initialPopulation: s.initialPopulation,
    population: s.population,
    generations: s.generations,
    objectives: s.objectives,
    constraints,
    quantization,
    device: ctx.spec.target.device,
    maxLanes: ctx.spec.dse?.maxLanes,
    fidelity: s.fidelity,
    trainCount,
    final: final
      ? {
          top: final.top, epochs: finalEpochs, subset: trainCount, schedule: final.learningRateSchedule ?? 'cosine',
          ...(byRecipe ? { training: recipeTraining(ctx.spec) } : {}),
          ...(final.candidates ? { candidates: final.candidates } : {}),
          rank: (front, reference) => rankCandidates(front, s.select, reference),
        }
      : undefined,
    training,
    seed: s.seed,
    workers: s.workers,
    pool,
    evaluator,
    dataDir,
    dataHash: hash,
    store: new EvaluationStore(evaluationStoreDir(ctx.workspaceRoot)),
    log: ctx.log,
  });
  const selectText = describeSelect(s.select);
  let selected: Candidate;
  let confirmation: RegretReport | undefined;
  if (result.confirmation) {
    // The selection rule again, over the confirmed candidates with their final-fidelity errors.
    const confirmed = result.confirmation.candidates;
    const atFinal: Candidate[] = confirmed.map((c) => ({ ...c, error: c.final!.error, rung: c.final!.rung, objectives: [c.final!.error, ...c.objectives.slice(1)] }));
    selected = confirmed[atFinal.indexOf(selectCandidate(atFinal, s.select, result.reference))];
    confirmation = regretReport(confirmed, selected, {
      top: final!.top,
      learningRateSchedule: result.confirmation.training.schedule ?? 'constant',
      evaluations: result.confirmation.evaluations,
      cacheHits: result.confirmation.cacheHits,
      sampleEpochs: result.confirmation.sampleEpochs,
      recipe: final!.recipe,
      chosenFrom: final!.candidates,
    });
  } else {
    selected = selectCandidate(result.pareto, s.select, result.reference);
  }
  const front = result.pareto.filter((c) => c.feasible);
  // 2,000 genomes through the constraints' cost models: seconds on the default spec, minutes with the hardware cost model
  // at many lanes (3-5 minutes on models/mnist-ternary-nas, maxLanes 64, session 16: no line was printed meanwhile), so it says what it is doing.
  const spanStart = Date.now();
  ctx.log.info(`size range: estimating the feasible space from ${SPAN_DRAWS} random genomes through the constraints' cost models`);
  const span = sizeSpan(space, { quantization, device: ctx.spec.target.device, constraints, maxLanes: ctx.spec.dse?.maxLanes }, s.seed, result.candidates, front);
  ctx.log.info(`size range: estimated in ${((Date.now() - spanStart) / 1000).toFixed(1)} s`);

  writeFileSync(
    join(ctx.outDir, 'candidates.jsonl'),
    result.candidates
      .map((c) =>
        JSON.stringify({
          id: c.id, key: c.key, generation: c.generation, index: c.index, description: c.description, genome: c.genome,
          architecture: c.architecture, values: c.values, violation: c.violation, feasible: c.feasible, error: c.error,
          rung: c.rung, rungs: c.rungs, objectives: c.objectives, pareto: front.includes(c), ...(c.invalid ? { invalid: c.invalid } : {}),
          ...(c.final ? { final: c.final } : {}),
        }),
      )
      .join('\n') + '\n',
  );
  writeFileSync(join(ctx.outDir, 'pareto.json'), canonicalJson(front.map((c) => ({ ...paretoEntry(c), architecture: c.architecture }))));
  writeFileSync(join(ctx.outDir, 'selected.json'), canonicalJson(selected.architecture));
  const caption = `${s.algorithm}, ${s.space} space, ${result.candidates.length} candidates, ${result.evaluations} trainings; selected ${selected.id} by ${selectText}`;
  writeFileSync(join(ctx.outDir, 'pareto.svg'), paretoSvg(result.candidates, result.pareto, selected, caption));
  const ref = result.objectives.map((n, k) => `${n} ${compact(result.reference[k])}`).join(', ');
  writeFileSync(join(ctx.outDir, 'hypervolume.svg'), hypervolumeSvg(result.generations, `objectives divided by the reference point (${ref})`));

  const wallSeconds = (Date.now() - started) / 1000;
  writeReport({
    skipped: false,
    algorithm: s.algorithm,
    space: s.space,
    objectives: result.objectives,
    constraints,
    fidelity: s.fidelity,
    sampleEpochs: result.sampleEpochs,
    population: s.population,
    generations: result.generations.length,
    candidates: result.candidates.length,
    feasible: result.candidates.filter((c) => c.feasible).length,
    evaluations: result.evaluations,
    cacheHits: result.cacheHits,
    trained: result.evaluations - result.cacheHits,
    pareto: front.map(paretoEntry),
    hypervolume: result.generations.map((g) => g.hypervolume),
    hypervolumeReference: result.reference,
    selected: selectedEntry(selected),
    select: selectText,
    ...(confirmation ? { confirmation } : {}),
    span,
    workers: s.workers,
    ...(s.queue ? { queue: s.queue } : {}),
    trainedBy: trainedBy(result.candidates),
    wallSeconds,
    files: ['candidates.jsonl', 'pareto.json', 'pareto.svg', 'hypervolume.svg', 'selected.json', 'report.json'],
  });
  if (confirmation) logConfirmation(ctx.log, confirmation);
  logSpan(ctx.log, span);
  const selectedError = selected.final?.error ?? selected.error;
  ctx.log.info(
    `selected ${selected.id} (${selectText}${confirmation ? ', at the final fidelity' : ''}): validation error ${((selectedError ?? 1) * 100).toFixed(2)}%, ${selected.values.params} params, ${selected.values.macs} MACs, ` +
      `${selected.values.weightBits} weight bits; ${result.evaluations} trainings (${result.cacheHits} stored) in ${wallSeconds.toFixed(1)} s`,
  );
}

const pct = (e: number) => `${(e * 100).toFixed(2)}%`;

/** Genomes drawn to estimate the feasible space's span. */
export const SPAN_DRAWS = 2000;

/** report.span: the feasible candidates and front against the feasible space, estimated from SPAN_DRAWS genomes seeded by search.seed. */
function sizeSpan(space: SearchSpace<unknown>, o: Parameters<typeof feasibility>[1], seed: number, candidates: Candidate[], front: Candidate[]): SpanReport {
  const label = `span:${seed}`;
  const feasible = estimateFeasibleSpan(space, feasibility(space, o), { draws: SPAN_DRAWS, rng: new Rng(label), seed: label });
  const sizes = (cs: Candidate[]) => cs.filter((c) => c.feasible && c.error !== null).map((c) => ({ params: c.values.params, macs: c.values.macs }));
  return spanReport(sizes(candidates), sizes(front), feasible);
}

function logSpan(log: Logger, r: SpanReport): void {
  const f = r.feasibleSpace;
  const range = (x: { min: number; max: number } | null) => (x ? `${compact(x.min)}–${compact(x.max)}` : 'none');
  const share = (x: number | null) => (x === null ? 'n/a' : `${Math.round(x * 100)}%`);
  log.info(
    `size range: candidates ${range(r.candidates.params)} params (${share(r.coverage.params)} of the feasible log range), ${range(r.candidates.macs)} MACs (${share(r.coverage.macs)}); ` +
      `front ${range(r.front.params)} params; feasible space ${range(f.params)} params, ${range(f.macs)} MACs (estimated from ${f.draws} random genomes, ${f.meetingCheckedConstraints} meeting the constraints)`,
  );
  if (r.warning) log.warn(r.warning);
}

/** The confirmation's console lines: the rank correlation always, a warning when the pick changed. */
function logConfirmation(log: Logger, r: RegretReport): void {
  log.info(
    `confirmation: Kendall's tau-b ${r.kendallTau === null ? 'undefined' : r.kendallTau.toFixed(3)} between the low- and final-fidelity errors of ${r.candidates.length} candidates; ` +
      r.candidates.map((c) => `${c.id} ${pct(c.lowFidelity.error)} -> ${pct(c.final.error)}`).join(', '),
  );
  if (r.flipped) {
    const low = r.candidates.find((c) => c.id === r.lowFidelityPick)!, pick = r.candidates.find((c) => c.id === r.finalPick)!;
    log.warn(
      `the ranking flipped: at low fidelity the search would have selected ${low.id} (${pct(low.lowFidelity.error)}), which ends at ${pct(low.final.error)} on all the training data; ` +
        `${pick.id} ends at ${pct(pick.final.error)} (${pct(pick.lowFidelity.error)} at low fidelity) and is selected: the low fidelity alone would have given away ${(r.regret * 100).toFixed(2)} points`,
    );
  }
}
