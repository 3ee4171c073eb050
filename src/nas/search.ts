/**
 * The architecture search: an optimiser from src/moo over a search space, with
 *  - analytic objectives and constraints computed before any training (objectives.ts); infeasible
 *    candidates are never trained;
 *  - multi-fidelity evaluation (schedule.ts): by default successive halving inside each generation:
 *    every feasible new candidate is trained at rung 0 (fidelity.epochs[0] epochs on
 *    fidelity.subset samples); the best `promote` fraction of those (NSGA-II's order: constrained
 *    non-dominated rank, then crowding distance, on the rung's errors) is trained at rung 1
 *    (epochs[1]), and so on; or Hyperband's brackets, or asynchronous successive halving (ASHA). A
 *    candidate's error objective is the error at the highest rung it reached;
 *  - optionally a confirmation rung (fidelity.final): the best `top` members of the feasible front
 *    by the selection rule (or the best of each depth) are trained on all the training data for
 *    `epochs` epochs (or as the train stage trains them), and the selection (stage.ts) uses those errors;
 *  - parallel evaluation on a pool of worker processes, or through a job queue (search.queue,
 *    queue.ts) whose workers may be on other machines; each training records who ran it;
 *  - every evaluation stored content-addressed (evaluation.ts) and looked up before it is run.
 *
 * Resuming is replay: the optimiser is a pure function of its seed and of the results it is told,
 * and every result is a pure function of its key, so a rerun (after kill -9, or with more
 * generations) walks the same path, takes every finished evaluation from the store and trains
 * only what is missing.
 */
import { crowdingDistance, constrainedDominates, nonDominatedSort, paretoIndices } from '../moo/dominance';
import { hypervolume } from '../moo/hypervolume';
import { seedFromKey, type Rng } from '../moo/rng';
import { makeOptimizer, type AlgorithmName } from '../moo/run';
import type { Evaluated } from '../moo/types';
import type { Architecture } from '../nn/arch';
import { architectureCost } from '../nn/cost';
import { RECURRENT_KINDS } from '../nn/plan';
import type { QuantizationPlan } from '../quant/config';
import { isDeepMakerError } from '../util/errors';
import type { Logger } from '../util/log';
import { evaluationKey, EvaluationStore, stratifiedSubsetSeed, type EvaluationResult, type EvaluatorRef, type Fidelity, type SearchTraining } from './evaluation';
import { measureCandidate, type Constraint } from './objectives';
import { WorkerPool, type EvaluationPool, type RunMeta } from './pool';
import { runSchedule, type ScheduleName } from './schedule';
import { feasibility, stratifiedInitial, type Feasibility } from './span';
import type { SearchSpace } from './space';

export interface SearchOptions<G> {
  space: SearchSpace<G>;
  algorithm: AlgorithmName;
  /** How nsga2 and aging draw the first generation (default random, as search.initialPopulation; stratified: over log-params). */
  initialPopulation?: 'stratified' | 'random';
  population: number;
  generations: number;
  /** Minimised; must contain 'error' (the result lists it first). */
  objectives: string[];
  constraints: Constraint[];
  quantization: QuantizationPlan;
  device: string;
  /** dse.maxLanes, for the hardware objectives (src/dse/nas-objectives.ts). */
  maxLanes?: number;
  fidelity: { subset: number; epochs: number[]; promote: number; schedule?: ScheduleName; stratify?: boolean };
  /** The confirmation rung (search.fidelity.final), when the spec asks for one. */
  final?: FinalFidelity<G>;
  /** Rows of the training split (budget accounting: a subset is at most all of them). */
  trainCount?: number;
  training: SearchTraining;
  seed: number;
  workers: number;
  /** Where trainings run (default: `workers` local processes). runSearch closes it. */
  pool?: EvaluationPool;
  evaluator: EvaluatorRef;
  dataDir: string;
  /** Identifies the data (part of every evaluation key). */
  dataHash: string;
  store: EvaluationStore;
  log: Logger;
}

export interface RungRecord {
  rung: number;
  epochs: number;
  subset: number;
  key: string;
  error: number;
  /** Quantization-aware search: the float network's error before its quantized twin was fine-tuned (error is the twin's). */
  floatError?: number;
  validationAccuracy: number;
  seconds: number;
  cached: boolean;
  /** The confirmation rung's training (all training data). */
  final?: true;
  /** Who trained it (for a stored result: who trained it first). */
  worker?: string;
}

export interface FinalFidelity<G> {
  /** How many candidates are confirmed. */
  top: number;
  epochs: number;
  /** All training rows. */
  subset: number;
  schedule: 'constant' | 'cosine';
  /**
   * The confirmation's training settings when they are not the search's (search.fidelity.final.recipe train: the
   * train stage's, with its seed and early stopping and quantize's fine-tuning); `schedule` then does not apply.
   */
  training?: SearchTraining;
  /**
   * front (default): the best `top` members of the feasible Pareto set by the selection rule. per-depth: the best
   * trained feasible candidate of each depth (layers with weights, networkDepth), by the same rule, the depths in
   * the order of their best, up to `top`: at low fidelity shallow networks learn fastest, so the leaders of the front
   * can all be one shape while a deeper network trains better in full (session 14).
   */
  candidates?: 'front' | 'per-depth';
  /** The feasible front ordered by the selection rule, best first (select.ts rankCandidates). */
  rank(front: Candidate<G>[], reference: number[]): Candidate<G>[];
}

export interface Confirmation<G = unknown> {
  /** The confirmed candidates, in the selection rule's low-fidelity order (each has `final`). */
  candidates: Candidate<G>[];
  fidelity: Fidelity;
  training: SearchTraining;
  evaluations: number;
  cacheHits: number;
  /** Σ epochs × samples of its trainings. */
  sampleEpochs: number;
}

export interface Candidate<G = unknown> {
  /** Short id: the first 10 hex digits of the architecture key. */
  id: string;
  key: string;
  generation: number;
  /** Position in evaluation order (0-based). */
  index: number;
  genome: G;
  architecture: Architecture;
  description: string;
  /** Analytic objective and constraint values (params, macs, weightBits, ...). */
  values: Record<string, number>;
  violation: number;
  feasible: boolean;
  /** Validation error at the highest rung reached; null when not trained (infeasible or invalid). */
  error: number | null;
  /** Highest rung reached (-1: not trained). */
  rung: number;
  rungs: RungRecord[];
  /** The objective vector the optimiser was told (error 1 for untrained candidates). */
  objectives: number[];
  /** Why the candidate could not be built, when it could not. */
  invalid?: string;
  /** Its confirmation-rung training, when it was confirmed. */
  final?: RungRecord;
}

export interface GenerationSummary {
  generation: number;
  candidates: number;
  feasible: number;
  /** Trainings asked for in this generation (all rungs), and how many came from the store. */
  evaluations: number;
  cacheHits: number;
  /** Normalised hypervolume of the feasible Pareto set of every candidate so far. */
  hypervolume: number;
  paretoSize: number;
}

export interface SearchResult<G = unknown> {
  candidates: Candidate<G>[];
  /** The feasible Pareto set over all candidates (or, if none is feasible, the least-violating ones). */
  pareto: Candidate<G>[];
  generations: GenerationSummary[];
  /** Every training asked for (the confirmation rung's included), and how many came from the store. */
  evaluations: number;
  cacheHits: number;
  /** Σ epochs × samples over the search's trainings (the confirmation rung's not included): its budget. */
  sampleEpochs: number;
  confirmation?: Confirmation<G>;
  /** Reference point of the hypervolume, in objective units (objectives are divided by it). */
  reference: number[];
  objectives: string[];
}

const UNTRAINED_ERROR = 1;
/** Measured for every candidate (reports and pictures), whether or not they are objectives. */
const REPORTED = ['params', 'macs', 'weightBits'];
const INVALID_VIOLATION = 1e6;

export async function runSearch<G>(o: SearchOptions<G>): Promise<SearchResult<G>> {
  if (!o.objectives.includes('error')) throw new Error("the search's objectives must include 'error'");
  // Error first, then the analytic objectives in the spec's order.
  const analytic = o.objectives.filter((n) => n !== 'error');
  const objectives = ['error', ...analytic];
  const optimizer = makeOptimizer(o.algorithm, searchOperators(o.space, feasibility(o.space, o), o.initialPopulation ?? 'random', { report: (m) => o.log.info(m) }), { populationSize: o.population, seed: o.seed });
  const pool: EvaluationPool = o.pool ?? new WorkerPool(o.workers, o.evaluator, o.log);
  const candidates: Candidate<G>[] = [];
  const generations: GenerationSummary[] = [];
  let reference: number[] | undefined;
  let totalEvals = 0, totalHits = 0, sampleEpochs = 0;
  // Trainings (not from the store) per worker since the last generation summary.
  let sinceSummary = { evals: 0, hits: 0, workers: new Map<string, number>() };
  const subsetSeed = stratifiedSubsetSeed(o.seed);

  const evaluate = async (key: string, arch: Architecture, fidelity: Fidelity, training: SearchTraining, label: string, meta: RunMeta): Promise<{ result: EvaluationResult; cached: boolean }> => {
    const stored = o.store.get(key);
    if (stored) return { result: stored.result, cached: true };
    const result = await pool.run(
      { key, arch, fidelity, training, seed: training.seed ?? seedFromKey(key), ...(fidelity.stratified ? { subsetSeed } : {}), dataDir: o.dataDir },
      (msg) => o.log.info(`  ${label} ${msg}`),
      meta,
    );
    o.store.put({ key, fidelity, result });
    return { result, cached: false };
  };

  const rungFidelity = (rung: number): Fidelity => ({ epochs: o.fidelity.epochs[rung], subset: o.fidelity.subset, ...(o.fidelity.stratify ? { stratified: true as const } : {}) });

  const admit = (genomes: G[], generation: number): Candidate<G>[] =>
    genomes.map((genome, i) => {
      const architecture = o.space.toArchitecture(genome);
      const key = o.space.key(genome);
      const base = { id: key.slice(0, 10), key, generation, index: candidates.length + i, genome, architecture, description: o.space.describe(genome), rungs: [], rung: -1, error: null, objectives: [] };
      try {
        const cost = architectureCost(architecture);
        const m = measureCandidate({ arch: architecture, cost, quantization: o.quantization, device: o.device, maxLanes: o.maxLanes }, [...new Set([...analytic, ...REPORTED])], o.constraints);
        return { ...base, values: m.values, violation: m.violation, feasible: m.violation === 0 };
      } catch (e) {
        if (!isDeepMakerError(e)) throw e;
        return { ...base, values: {}, violation: INVALID_VIOLATION, feasible: false, invalid: (e as Error).message };
      }
    });

  const train = async (c: Candidate<G>, rung: number): Promise<void> => {
    const fidelity = rungFidelity(rung);
    const key = evaluationKey({ arch: c.architecture, fidelity, training: o.training, dataHash: o.dataHash, seed: o.seed, evaluator: o.evaluator });
    const label = `gen ${c.generation} ${c.id} rung ${rung}`;
    const { result, cached } = await evaluate(key, c.architecture, fidelity, o.training, label, { generation: c.generation, rung });
    totalEvals++;
    sinceSummary.evals++;
    sampleEpochs += fidelity.epochs * Math.min(fidelity.subset, o.trainCount ?? fidelity.subset);
    if (cached) {
      totalHits++;
      sinceSummary.hits++;
    } else if (result.worker) sinceSummary.workers.set(result.worker, (sinceSummary.workers.get(result.worker) ?? 0) + 1);
    c.rungs.push({ rung, epochs: fidelity.epochs, subset: fidelity.subset, key, error: result.error, ...(result.floatError !== undefined ? { floatError: result.floatError } : {}), validationAccuracy: result.validationAccuracy, seconds: result.seconds, cached, ...(result.worker ? { worker: result.worker } : {}) });
    if (rung >= c.rung) {
      c.rung = rung;
      c.error = result.error;
    }
    o.log.info(
      `gen ${c.generation} ${c.id} rung ${rung} (${fidelity.epochs} epoch${fidelity.epochs > 1 ? 's' : ''}, ${fidelity.subset} samples): ` +
        `error ${(result.error * 100).toFixed(2)}%${result.floatError !== undefined ? ` (${o.training.quantize?.mode ?? 'quantized'}; float ${(result.floatError * 100).toFixed(2)}%)` : ''}, ${formatValues(c.values)}${cached ? ' (stored)' : ` (${result.seconds.toFixed(1)} s${onWorker(result)})`} — ${c.description}`,
    );
  };

  const settle = (batch: Candidate<G>[], generation: number): Evaluated<G>[] => {
    for (const c of batch) {
      c.objectives = [c.error ?? UNTRAINED_ERROR, ...analytic.map((n) => c.values[n] ?? Infinity)];
      if (!c.feasible) o.log.info(`gen ${generation} ${c.id} not trained: ${c.invalid ?? `violates the constraints by ${(c.violation * 100).toFixed(1)}% (${formatValues(c.values)})`}`);
    }
    candidates.push(...batch);
    return batch.map((c) => ({ genome: c.genome, key: c.key, objectives: c.objectives, violation: c.violation }));
  };

  const told = (generation: number, batch: Candidate<G>[]): void => {
    if (!reference) reference = referencePoint(objectives, candidates, o.constraints);
    const front = paretoIndices(candidates).map((i) => candidates[i]).filter((c) => c.feasible);
    const hv = hypervolume(front.map((c) => c.objectives.map((v, k) => v / reference![k])), objectives.map(() => 1));
    const summary: GenerationSummary = {
      generation,
      candidates: batch.length,
      feasible: batch.filter((b) => b.violation === 0).length,
      evaluations: sinceSummary.evals,
      cacheHits: sinceSummary.hits,
      hypervolume: hv,
      paretoSize: front.length,
    };
    const workers = sinceSummary.workers;
    sinceSummary = { evals: 0, hits: 0, workers: new Map() };
    generations.push(summary);
    const best = front.reduce<Candidate<G> | undefined>((b, c) => (!b || (c.error ?? 1) < (b.error ?? 1) ? c : b), undefined);
    o.log.info(
      `generation ${generation + 1}/${o.generations}: ${summary.candidates} candidates (${summary.feasible} feasible), ${summary.evaluations} trainings (${summary.cacheHits} stored), ` +
        `Pareto set ${front.length}, hypervolume ${hv.toFixed(4)}${best ? `, best error ${((best.error ?? 1) * 100).toFixed(2)}% (${best.id})` : ''}` +
        (workers.size ? `; trained by ${[...workers].map(([w, n]) => `${w} (${n})`).join(', ')}` : ''),
    );
  };

  let confirmation: Confirmation<G> | undefined;
  try {
    await runSchedule(
      optimizer,
      { schedule: o.fidelity.schedule ?? 'rungs', rungs: o.fidelity.epochs.length, promote: o.fidelity.promote, population: o.population, generations: o.generations, concurrency: o.workers },
      { admit, trainable: (c) => c.feasible, train, rank: (cs, rung) => promotionOrder(cs, analytic, rung), settle, told },
    );
    // asha promotes candidates after their batch was told: their objective is the error at the highest rung they reached.
    for (const c of candidates) if (c.error !== null) c.objectives[0] = c.error;
    if (o.final) confirmation = await confirm(o.final, paretoIndices(candidates).map((i) => candidates[i]), reference ?? objectives.map(() => 1));
  } finally {
    await pool.close();
  }
  const pareto = paretoIndices(candidates).map((i) => candidates[i]);
  return {
    candidates, pareto, generations, evaluations: totalEvals, cacheHits: totalHits, sampleEpochs,
    reference: reference ?? objectives.map(() => 1), objectives, ...(confirmation ? { confirmation } : {}),
  };

  /** The confirmation rung: the best `top` of the feasible front by the selection rule, trained at the final fidelity. */
  async function confirm(final: FinalFidelity<G>, pareto: Candidate<G>[], ref: number[]): Promise<Confirmation<G>> {
    const perDepth = final.candidates === 'per-depth';
    const ranked = final.rank((perDepth ? candidates : pareto).filter((c) => c.feasible && c.error !== null), ref);
    const chosen = perDepth ? bestPerDepth(ranked, final.top) : ranked.slice(0, final.top);
    const fidelity: Fidelity = { epochs: final.epochs, subset: final.subset };
    const training: SearchTraining = final.training ?? { ...o.training, ...(final.schedule === 'cosine' ? { schedule: 'cosine' as const } : {}) };
    let trainings = 0, hits = 0, epochs = 0;
    const workers = new Map<string, number>();
    // The queue labels its progress lines by this: the confirmation rung comes after the last generation.
    const meta: RunMeta = { generation: generations.length, rung: o.fidelity.epochs.length, final: true };
    const which = perDepth ? `the best of each of ${chosen.length} depths (${chosen.map((c) => networkDepth(c.architecture)).join(', ')} layers with weights)` : `the best ${chosen.length} of the Pareto set`;
    const how = final.training
      ? `with the train stage's training: up to ${final.epochs} epoch${final.epochs > 1 ? 's' : ''} on all ${final.subset} training samples${final.training.earlyStopping ? ` (early stopping after ${final.training.earlyStopping.patience})` : ''}${final.training.quantize ? `, then ${fineTuneNote(final.training.quantize)}` : ''}, seed ${final.training.seed}`
      : `${final.epochs} epoch${final.epochs > 1 ? 's' : ''} on all ${final.subset} training samples${training.schedule ? ' (cosine learning rate)' : ''}`;
    o.log.info(`confirmation: ${which} by the selection rule, ${how}`);
    await Promise.all(
      chosen.map(async (c, k) => {
        const key = evaluationKey({ arch: c.architecture, fidelity, training, dataHash: o.dataHash, seed: o.seed, evaluator: o.evaluator });
        const { result, cached } = await evaluate(key, c.architecture, fidelity, training, `final ${c.id}`, meta);
        trainings++;
        epochs += fidelity.epochs * fidelity.subset;
        if (cached) hits++;
        else if (result.worker) workers.set(result.worker, (workers.get(result.worker) ?? 0) + 1);
        c.final = {
          rung: o.fidelity.epochs.length, epochs: fidelity.epochs, subset: fidelity.subset, key, error: result.error, ...(result.floatError !== undefined ? { floatError: result.floatError } : {}), validationAccuracy: result.validationAccuracy, seconds: result.seconds, cached, final: true,
          ...(result.worker ? { worker: result.worker } : {}),
        };
        o.log.info(
          `final ${c.id} (rank ${k + 1} at low fidelity, ${fidelity.epochs} epoch${fidelity.epochs > 1 ? 's' : ''}, ${fidelity.subset} samples): error ${(result.error * 100).toFixed(2)}% ` +
            `(low fidelity ${((c.error ?? 1) * 100).toFixed(2)}%)${cached ? ' (stored)' : ` (${result.seconds.toFixed(1)} s${onWorker(result)})`} — ${c.description}`,
        );
      }),
    );
    if (workers.size) o.log.info(`confirmation: ${trainings} trainings (${hits} stored); trained by ${[...workers].map(([w, n]) => `${w} (${n})`).join(', ')}`);
    totalEvals += trainings;
    totalHits += hits;
    return { candidates: chosen, fidelity, training, evaluations: trainings, cacheHits: hits, sampleEpochs: epochs };
  }
}

/**
 * The space's operators, feasibility-aware: random() takes up to RANDOM_TRIES draws and mutate() up
 * to MUTATE_TRIES mutations of the same parent until one meets the (analytic, known before training)
 * constraints, so that the initial population, the random refills and the offspring are not wasted
 * on networks that can never be chosen. After the last try the draw stands and constraint-domination
 * ranks it. (With tight hardware constraints, e.g. maxLuts: device on a UP5K, plain mutation left 1
 * feasible child of 8 in later generations of the default search.) The initial population is
 * stratified over log-params (span.ts stratifiedInitial): uniform draws crowd where the space has
 * most networks, so eight of them rarely held both ends of the feasible range (on the default
 * constraints, the largest of eight reached 71-79% of the feasible log-params range for seeds 1
 * and 2 of the densenet space). Every draw comes from the optimiser's seeded generator, so a search
 * stays a pure function of its seed.
 */
const RANDOM_TRIES = 64;
const MUTATE_TRIES = 16;
/** Progress of searchOperators' constraint checks: a line every `everyMs` (default 20 s) of drawing. */
export interface DrawProgress {
  report: (msg: string) => void;
  everyMs?: number;
}

/** A pause between two checks longer than this starts a new drawing (trainings ran in between). */
const NEW_DRAWING_MS = 5000;

export function searchOperators<G>(space: SearchSpace<G>, feas: Feasibility<G>, initial: 'stratified' | 'random', progress?: DrawProgress): SearchSpace<G> {
  // Hardware constraints run the DSE cost model on each draw (~0.2 s or more a network): with tight ones, drawing a
  // generation can take minutes before anything trains, so say how it goes.
  const every = progress?.everyMs ?? 20_000;
  let checks = 0, passed = 0, started = 0, told = 0, last = -Infinity;
  const feasible = (g: G): boolean => {
    const now = Date.now();
    if (now - last > NEW_DRAWING_MS) {
      started = told = now;
      checks = passed = 0;
    }
    const ok = feas.feasible(g);
    checks++;
    if (ok) passed++;
    last = Date.now();
    if (progress && last - told >= every) {
      told = last;
      progress.report(`drawing networks that meet the constraints before training: ${passed} of ${checks} drawn meet them (${((last - started) / 1000).toFixed(0)} s)`);
    }
    return ok;
  };
  return {
    ...space,
    ...(initial === 'stratified' ? { initial: (count: number, rng: Rng) => stratifiedInitial(space, feas, count, rng) } : {}),
    random: (rng) => {
      let g = space.random(rng);
      for (let t = 1; t < RANDOM_TRIES && !feasible(g); t++) g = space.random(rng);
      return g;
    },
    mutate: (parent, rng) => {
      let g = space.mutate(parent, rng);
      for (let t = 1; t < MUTATE_TRIES && !feasible(g); t++) g = space.mutate(parent, rng);
      return g;
    },
  };
}

/** Layer types with one layer of weights each (a dense block counts its `layers` units; recurrent kinds: RECURRENT_KINDS). */
const ONE_WEIGHT_LAYER = new Set(['conv2d', 'depthwise_conv2d', 'dense', 'transition']);

/** Layers with weights: convolutions, dense and recurrent layers, a dense block's conv layers, a transition's 1x1 conv. */
export function networkDepth(a: Architecture): number {
  let n = 0;
  for (const l of a.layers) {
    if (l.type === 'dense_block') n += l.layers;
    else if (ONE_WEIGHT_LAYER.has(l.type) || l.type in RECURRENT_KINDS) n++;
  }
  return n;
}

/** The first (best) candidate of each depth in `ranked`, up to `top` of them, in ranked order. */
export function bestPerDepth<G>(ranked: Candidate<G>[], top: number): Candidate<G>[] {
  const seen = new Set<number>();
  const out: Candidate<G>[] = [];
  for (const c of ranked) {
    const d = networkDepth(c.architecture);
    if (seen.has(d)) continue;
    seen.add(d);
    out.push(c);
    if (out.length === top) break;
  }
  return out;
}

/**
 * Candidates trained at `rung`, best first by NSGA-II's order on their errors at that rung and their
 * analytic objectives: constrained non-dominated rank, then crowding distance (larger first), then
 * evaluation order.
 */
function promotionOrder<G>(cs: Candidate<G>[], analytic: string[], rung: number): Candidate<G>[] {
  if (cs.length <= 1) return [...cs];
  const errorAt = (c: Candidate<G>) => c.rungs.find((r) => r.rung === rung)?.error ?? c.error ?? UNTRAINED_ERROR;
  const points = cs.map((c) => ({ objectives: [errorAt(c), ...analytic.map((a) => c.values[a])], violation: c.violation }));
  const order: number[] = [];
  for (const front of nonDominatedSort(points, constrainedDominates)) {
    const crowd = crowdingDistance(front.map((i) => points[i].objectives));
    order.push(...front.map((i, j) => ({ i, d: crowd[j] })).sort((a, b) => b.d - a.d || a.i - b.i).map((x) => x.i));
  }
  return order.map((i) => cs[i]);
}

/**
 * The hypervolume's reference point, fixed after the first generation so that the curve is
 * comparable across generations (and identical when a search is resumed or grown): error 1; an
 * objective with a constraint, its limit; any other, 1.1 x its largest value among the first
 * generation's feasible candidates.
 */
function referencePoint(objectives: string[], firstGeneration: Candidate[], constraints: Constraint[]): number[] {
  const pool = firstGeneration.filter((c) => c.feasible);
  const source = pool.length ? pool : firstGeneration.filter((c) => !c.invalid);
  return objectives.map((n, k) => {
    if (n === 'error') return 1;
    const limit = constraints.find((c) => c.objective === n)?.limit;
    if (limit !== undefined) return limit;
    const max = Math.max(0, ...source.map((c) => c.objectives[k]).filter((v) => Number.isFinite(v)));
    return max > 0 ? 1.1 * max : 1;
  });
}

/** ` on host:pid` for a result that says who trained it. */
function onWorker(r: EvaluationResult): string {
  return r.worker ? ` on ${r.worker}` : '';
}

export function formatValues(v: Record<string, number>): string {
  const f = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e4 ? `${(x / 1e3).toFixed(1)}k` : `${x}`);
  return Object.entries(v).map(([k, x]) => `${k} ${f(x)}`).join(', ');
}

/** The confirmation's fine-tuning in words: its epochs, the weights-first phase and its own early stopping (absent: as the float training). */
function fineTuneNote(q: Pick<QuantizationPlan, 'mode' | 'fineTune'>): string {
  const { epochs, weightsFirst, earlyStopping } = q.fineTune;
  const first = weightsFirst ? `${weightsFirst} fine-tuning epochs with ternary weights and fixed-point activations and ` : '';
  const stopping = earlyStopping === undefined ? '' : earlyStopping === false ? ' (every one: no early stopping)' : ` (early stopping after ${earlyStopping.patience})`;
  return `${first}${epochs} ${q.mode} fine-tuning epochs${stopping}`;
}
