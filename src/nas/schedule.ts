/**
 * Multi-fidelity schedules (search.fidelity.schedule) over an ask/tell optimiser: which candidate is
 * trained at which rung, and when the optimiser is told. A rung is an index into
 * search.fidelity.epochs (more epochs, same subset); a training at a rung always starts from scratch,
 * so each is an independent, storable result. `promote` is 1/η of the papers.
 *
 *  - rungs (the default): synchronous successive halving inside each generation. Every feasible
 *    candidate of the batch is trained at rung 0; the best ⌈promote · n⌉ go on to rung 1, and so on;
 *    then the batch is told.
 *  - hyperband (Li, Jamieson, DeSalvo, Rostamizadeh, Talwalkar, JMLR 2018): successive halving in
 *    brackets that trade the number of candidates against the rung they start at, so that neither a
 *    too aggressive nor a too cautious early stop can ruin the search. With m rungs, s_max = m − 1;
 *    generation g runs bracket s = s_max − (g mod (s_max + 1)): n_s = ⌈P · (s_max + 1)/(s + 1) · η^(s − s_max)⌉
 *    candidates start at rung s_max − s and the best ⌊n_i/η⌋ (at least one) of each rung go on. This is
 *    the paper's n = ⌈(s_max + 1)/(s + 1) · η^s⌉ scaled by P/η^s_max, so that the most exploratory
 *    bracket (s = s_max, which is exactly a `rungs` generation) asks `population` candidates. The
 *    paper's resources are geometric (r_i = R η^(i − s_max)); here they are the spec's epochs, whatever
 *    they are. The paper samples candidates at random; here the optimiser proposes them (as BOHB
 *    replaces the sampler by a model), so `algorithm: random` is the published algorithm.
 *  - asha (Li, Jamieson, Rostamizadeh, Gonina, Ben-tzur, Hardt, Recht, Talwalkar, MLSys 2020):
 *    asynchronous successive halving. Whenever a worker is free: promote a candidate that is among the
 *    best ⌊n_k/η⌋ of the n_k finished at rung k and not promoted yet (highest rung first, best first);
 *    otherwise start the next new candidate at rung 0. New candidates come from the optimiser in
 *    batches of `population`; a batch is told once its rung-0 results are in (the optimiser breeds
 *    from measured candidates), `generations` batches in all; promotions then go on until none is
 *    possible. With several objectives "best" is NSGA-II's order (constrained non-dominated rank,
 *    then crowding distance) on the errors at that rung, as in multi-objective ASHA (Schmucker et
 *    al. 2021). Results are taken in the order the trainings were started, not in the order they
 *    finish: the schedule is a pure function of the seed and of the results (the published ASHA
 *    reacts to wall-clock completions and is not reproducible); a worker may wait for an older
 *    training to finish before the next decision.
 * All three are deterministic for a seed, so a rerun replays the same trainings from the store.
 */
import type { Evaluated, Optimizer } from '../moo/types';

export type ScheduleName = 'rungs' | 'hyperband' | 'asha';
export const SCHEDULES: ScheduleName[] = ['rungs', 'hyperband', 'asha'];

export interface ScheduleOptions {
  schedule: ScheduleName;
  /** Number of rungs (search.fidelity.epochs.length). */
  rungs: number;
  /** Fraction promoted to the next rung: 1/η. */
  promote: number;
  /** Candidates per batch (hyperband: of its most exploratory bracket). */
  population: number;
  /** Batches (hyperband: brackets) the optimiser is asked for. */
  generations: number;
  /** asha: trainings started before the oldest one's result is needed (the worker count). */
  concurrency: number;
}

export interface ScheduleHooks<G, C> {
  /** The candidates of a batch the optimiser proposed, in its order (measured, feasibility known). */
  admit(genomes: G[], generation: number): C[];
  /** Whether `c` is trained at all (feasible and buildable). */
  trainable(c: C): boolean;
  /** Trains `c` at `rung` and records the result on it. */
  train(c: C, rung: number): Promise<void>;
  /** `cs`, all trained at `rung`, best first by their errors at that rung (and their costs). */
  rank(cs: C[], rung: number): C[];
  /** What the optimiser is told about a batch (called once per batch, just before it is told). */
  settle(batch: C[], generation: number): Evaluated<G>[];
  /** After a batch is told. */
  told?(generation: number, batch: C[]): void | Promise<void>;
}

/** Candidates of hyperband's bracket s (0 ≤ s ≤ sMax): the paper's n_s scaled so that bracket sMax has `population`. */
export function hyperbandBracketSize(population: number, sMax: number, s: number, promote: number): number {
  return Math.max(1, Math.ceil(population * ((sMax + 1) / (s + 1)) * promote ** (sMax - s) - 1e-9));
}

/** Hyperband's bracket for generation g: s_max, s_max − 1, …, 0, then again. */
export function hyperbandBracket(sMax: number, generation: number): number {
  return sMax - (generation % (sMax + 1));
}

export async function runSchedule<G, C>(optimizer: Optimizer<G>, o: ScheduleOptions, hooks: ScheduleHooks<G, C>): Promise<void> {
  if (!(o.rungs >= 1)) throw new RangeError('a schedule needs at least one rung');
  if (!(o.promote > 0 && o.promote <= 1)) throw new RangeError(`promote must be in (0, 1], not ${o.promote}`);
  switch (o.schedule) {
    case 'rungs':
      return synchronous(optimizer, o, hooks, () => ({ size: undefined, start: 0 }), (n) => Math.max(1, Math.ceil(n * o.promote - 1e-9)));
    case 'hyperband': {
      const sMax = o.rungs - 1;
      return synchronous(
        optimizer,
        o,
        hooks,
        (g) => {
          const s = hyperbandBracket(sMax, g);
          return { size: hyperbandBracketSize(o.population, sMax, s, o.promote), start: sMax - s };
        },
        (n) => Math.max(1, Math.floor(n * o.promote + 1e-9)),
      );
    }
    case 'asha':
      return asha(optimizer, o, hooks);
    default:
      throw new RangeError(`unknown schedule '${o.schedule as string}'`);
  }
}

/** Successive halving per batch: `rungs` (every batch from rung 0) and hyperband (brackets). */
async function synchronous<G, C>(
  optimizer: Optimizer<G>,
  o: ScheduleOptions,
  hooks: ScheduleHooks<G, C>,
  bracket: (generation: number) => { size: number | undefined; start: number },
  keep: (n: number) => number,
): Promise<void> {
  for (let gen = optimizer.generation; gen < o.generations; gen++) {
    const { size, start } = bracket(gen);
    const genomes = optimizer.ask(size);
    if (genomes.length === 0) break;
    const batch = hooks.admit(genomes, gen);
    let contenders = batch.filter((c) => hooks.trainable(c));
    for (let rung = start; rung < o.rungs && contenders.length; rung++) {
      await Promise.all(contenders.map((c) => hooks.train(c, rung)));
      if (rung + 1 < o.rungs) {
        const best = new Set(hooks.rank(contenders, rung).slice(0, keep(contenders.length)));
        contenders = contenders.filter((c) => best.has(c)); // in the batch's order
      }
    }
    optimizer.tell(hooks.settle(batch, gen));
    await hooks.told?.(gen, batch);
  }
}

interface Job<C> {
  c: C;
  rung: number;
  done: Promise<void>;
}

async function asha<G, C>(optimizer: Optimizer<G>, o: ScheduleOptions, hooks: ScheduleHooks<G, C>): Promise<void> {
  const finished: C[][] = Array.from({ length: o.rungs }, () => []);
  const promoted: Set<C>[] = Array.from({ length: o.rungs }, () => new Set());
  let gen = optimizer.generation;
  let batch: C[] | undefined;
  let fresh: C[] = [];
  let pendingFirst = 0;
  let exhausted = gen >= o.generations;

  const promotion = (): { c: C; rung: number } | undefined => {
    for (let k = o.rungs - 2; k >= 0; k--) {
      const quota = Math.floor(finished[k].length * o.promote + 1e-9);
      if (quota === 0) continue;
      const c = hooks.rank(finished[k], k).slice(0, quota).find((x) => !promoted[k].has(x));
      if (c !== undefined) {
        promoted[k].add(c);
        return { c, rung: k + 1 };
      }
    }
    return undefined;
  };

  /** The next training to start, or 'wait' (a result is needed first), or 'done'. */
  const next = async (): Promise<{ c: C; rung: number } | 'wait' | 'done'> => {
    const p = promotion();
    if (p) return p;
    for (;;) {
      if (fresh.length) {
        pendingFirst++;
        return { c: fresh.shift()!, rung: 0 };
      }
      if (batch) {
        // Told only once every training of its candidates started so far has been taken in order: a
        // promoted candidate's rung-1 result, finishing early or late, must not change what it is told.
        if (pendingFirst > 0 || inflight.some((j) => batch!.includes(j.c))) return 'wait';
        optimizer.tell(hooks.settle(batch, gen));
        await hooks.told?.(gen, batch);
        batch = undefined;
        gen++;
        if (gen >= o.generations) exhausted = true;
      }
      if (exhausted) return 'done';
      const genomes = optimizer.ask(o.population);
      if (genomes.length === 0) {
        exhausted = true;
        return 'done';
      }
      batch = hooks.admit(genomes, gen);
      fresh = batch.filter((c) => hooks.trainable(c));
    }
  };

  const inflight: Job<C>[] = [];
  try {
    for (;;) {
      while (inflight.length < Math.max(1, o.concurrency)) {
        const j = await next();
        if (j === 'wait' || j === 'done') break;
        const done = hooks.train(j.c, j.rung);
        done.catch(() => undefined); // awaited in order below; this only keeps a later failure from going unhandled meanwhile
        inflight.push({ ...j, done });
      }
      const j = inflight.shift();
      if (!j) break;
      await j.done;
      finished[j.rung].push(j.c);
      if (j.rung === 0) pendingFirst--;
    }
  } finally {
    // A failure leaves the other trainings running; let them settle before the caller closes the pool.
    await Promise.allSettled(inflight.map((j) => j.done));
  }
}
