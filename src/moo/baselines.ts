/**
 * The baselines NSGA-II is compared with on the same budget (batches of the same size):
 *  - random search: every batch is fresh random genomes; the "population" is the Pareto archive;
 *  - regularized (aging) evolution (Real et al., AAAI 2019), made multi-objective: the population
 *    is a queue; each child is a mutation of the winner of a tournament among `sampleSize` random
 *    members (winner = lowest constrained non-dominated rank within the sample, then a coin), and
 *    each told batch pushes the children and drops as many of the oldest members.
 * Both never ask a genome twice (canonical keys), like NSGA-II.
 */
import { constrainedDominates, nonDominatedSort, paretoIndices } from './dominance';
import { Rng } from './rng';
import type { Evaluated, GenomeOps, Optimizer } from './types';

export interface BaselineOptions {
  /** Genomes per ask() (NSGA-II's population size, for a same-budget comparison). */
  batchSize: number;
  seed: number | string;
  /** Attempts per wanted genome before giving up on finding new ones (default 20). */
  attemptsPerChild?: number;
}

export class RandomSearch<G> implements Optimizer<G> {
  readonly name = 'random';
  private rng: Rng;
  private seen = new Set<string>();
  private archive: Evaluated<G>[] = [];
  private gen = 0;

  constructor(private readonly ops: GenomeOps<G>, private readonly opts: BaselineOptions) {
    this.rng = new Rng(`random:${opts.seed}`);
  }

  get generation(): number {
    return this.gen;
  }

  ask(count?: number): G[] {
    const n = count ?? this.opts.batchSize;
    const out: G[] = [];
    const limit = (this.opts.attemptsPerChild ?? 20) * n;
    for (let t = 0; out.length < n && t < limit; t++) {
      const g = this.ops.random(this.rng);
      const k = this.ops.key(g);
      if (this.seen.has(k)) continue;
      this.seen.add(k);
      out.push(g);
    }
    return out;
  }

  tell(evaluated: Evaluated<G>[]): void {
    const all = [...this.archive, ...evaluated];
    this.archive = paretoIndices(all).map((i) => all[i]);
    this.gen++;
  }

  population(): Evaluated<G>[] {
    return [...this.archive];
  }
}

export interface AgingOptions extends BaselineOptions {
  /** Queue length (default: batchSize). */
  populationSize?: number;
  /** Tournament sample size (default: max(2, a quarter of the population)). */
  sampleSize?: number;
}

export class AgingEvolution<G> implements Optimizer<G> {
  readonly name = 'aging';
  private rng: Rng;
  private seen = new Set<string>();
  private queue: Evaluated<G>[] = [];
  private gen = 0;
  private readonly size: number;
  private readonly sample: number;

  constructor(private readonly ops: GenomeOps<G>, private readonly opts: AgingOptions) {
    this.rng = new Rng(`aging:${opts.seed}`);
    this.size = opts.populationSize ?? opts.batchSize;
    this.sample = Math.min(this.size, opts.sampleSize ?? Math.max(2, Math.round(this.size / 4)));
  }

  get generation(): number {
    return this.gen;
  }

  ask(count?: number): G[] {
    const n = count ?? this.opts.batchSize;
    const out: G[] = [];
    const keys = new Set<string>();
    const limit = (this.opts.attemptsPerChild ?? 20) * n;
    const offer = (g: G) => {
      const k = this.ops.key(g);
      if (this.seen.has(k) || keys.has(k)) return;
      keys.add(k);
      out.push(g);
    };
    // Until the queue is full, the population is seeded with random genomes.
    const wantRandom = Math.max(0, Math.min(n, this.size - this.queue.length));
    if (this.gen === 0 && this.queue.length === 0 && this.ops.initial) {
      for (const g of this.ops.initial(wantRandom, this.rng)) if (out.length < wantRandom) offer(g);
    }
    for (let t = 0; out.length < wantRandom && t < limit; t++) offer(this.ops.random(this.rng));
    if (this.queue.length > 0) {
      for (let t = 0; out.length < n && t < limit; t++) offer(this.ops.mutate(this.tournament().genome, this.rng));
    }
    for (let t = 0; out.length < n && t < limit; t++) offer(this.ops.random(this.rng));
    for (const k of keys) this.seen.add(k);
    return out;
  }

  tell(evaluated: Evaluated<G>[]): void {
    for (const e of evaluated) this.seen.add(e.key);
    this.queue.push(...evaluated);
    if (this.queue.length > this.size) this.queue.splice(0, this.queue.length - this.size);
    this.gen++;
  }

  population(): Evaluated<G>[] {
    return [...this.queue];
  }

  private tournament(): Evaluated<G> {
    const picks = Array.from({ length: this.sample }, () => this.queue[this.rng.int(this.queue.length)]);
    const best = nonDominatedSort(picks, constrainedDominates)[0];
    return picks[best[this.rng.int(best.length)]];
  }
}
