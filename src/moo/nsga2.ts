/**
 * NSGA-II (Deb et al., IEEE TEC 2002) in ask/tell form, generic over the genome.
 *
 *  - ask() at generation 0 returns `populationSize` random genomes (the problem's initial() first,
 *    when it has one); afterwards it breeds offspring:
 *    binary tournaments with the crowded-comparison operator (lower constrained rank wins, then the
 *    larger crowding distance, then a coin), crossover with probability `crossoverProbability`,
 *    mutation of every child.
 *  - Duplicates are removed by the problem's canonical key: no genome is ever asked twice, so no
 *    evaluation budget goes to a genome already seen (a bred child that is a duplicate is dropped
 *    and breeding continues; when variation keeps producing duplicates, random genomes fill in).
 *  - tell() does the elitist environmental selection: parents ∪ offspring, constraint-domination
 *    non-dominated sort, fronts taken whole while they fit, the last one by crowding distance.
 * Every tie is broken deterministically, so a run is a pure function of the seed and the results.
 */
import { constrainedDominates, crowdingDistance, nonDominatedSort } from './dominance';
import { Rng } from './rng';
import type { Evaluated, GenomeOps, Optimizer } from './types';

export interface Nsga2Options {
  populationSize: number;
  seed: number | string;
  /** Default 0.9 (Deb's setting for real-coded NSGA-II). */
  crossoverProbability?: number;
  /** Breeding attempts per wanted child before random genomes fill in (default 20). */
  attemptsPerChild?: number;
}

export interface Ranked<G> extends Evaluated<G> {
  rank: number;
  crowding: number;
}

export class Nsga2<G> implements Optimizer<G> {
  readonly name = 'nsga2';
  private rng: Rng;
  private pop: Ranked<G>[] = [];
  private seen = new Set<string>();
  private gen = 0;
  private readonly pc: number;
  private readonly attempts: number;

  constructor(private readonly ops: GenomeOps<G>, private readonly opts: Nsga2Options) {
    if (!(opts.populationSize >= 2)) throw new RangeError('NSGA-II needs a population of at least 2');
    this.rng = new Rng(`nsga2:${opts.seed}`);
    this.pc = opts.crossoverProbability ?? 0.9;
    this.attempts = opts.attemptsPerChild ?? 20;
  }

  get generation(): number {
    return this.gen;
  }

  population(): Ranked<G>[] {
    return [...this.pop];
  }

  ask(count?: number): G[] {
    const n = count ?? this.opts.populationSize;
    const batch: G[] = [];
    const batchKeys = new Set<string>();
    const offer = (g: G): boolean => {
      const k = this.ops.key(g);
      if (this.seen.has(k) || batchKeys.has(k)) return false;
      batchKeys.add(k);
      batch.push(g);
      return true;
    };
    if (this.gen === 0 && this.pop.length === 0 && this.ops.initial) {
      for (const g of this.ops.initial(n, this.rng)) if (batch.length < n) offer(g);
    }
    if (this.pop.length >= 2) {
      for (let tries = 0; batch.length < n && tries < this.attempts * n; tries++) {
        const a = this.tournament(), b = this.tournament();
        let [c1, c2] = this.rng.bool(this.pc) ? this.ops.crossover(a.genome, b.genome, this.rng) : [a.genome, b.genome];
        c1 = this.ops.mutate(c1, this.rng);
        c2 = this.ops.mutate(c2, this.rng);
        offer(c1);
        if (batch.length < n) offer(c2);
      }
    }
    for (let tries = 0; batch.length < n && tries < this.attempts * n; tries++) offer(this.ops.random(this.rng));
    for (const k of batchKeys) this.seen.add(k);
    return batch;
  }

  tell(evaluated: Evaluated<G>[]): void {
    for (const e of evaluated) this.seen.add(e.key);
    const combined: Evaluated<G>[] = [...this.pop, ...evaluated];
    this.pop = selectSurvivors(combined, this.opts.populationSize);
    this.gen++;
  }

  /** Binary tournament with the crowded-comparison operator. */
  private tournament(): Ranked<G> {
    const a = this.pop[this.rng.int(this.pop.length)], b = this.pop[this.rng.int(this.pop.length)];
    if (a.rank !== b.rank) return a.rank < b.rank ? a : b;
    if (a.crowding !== b.crowding) return a.crowding > b.crowding ? a : b;
    return this.rng.bool() ? a : b;
  }
}

/** NSGA-II's environmental selection: the best `n` of `items` by constrained rank, then crowding. Ranks and crowding are attached. */
export function selectSurvivors<G>(items: Evaluated<G>[], n: number): Ranked<G>[] {
  const fronts = nonDominatedSort(items, constrainedDominates);
  const out: Ranked<G>[] = [];
  for (let r = 0; r < fronts.length && out.length < n; r++) {
    const front = fronts[r];
    const crowd = crowdingDistance(front.map((i) => items[i].objectives));
    const members = front.map((i, j) => ({ ...items[i], rank: r, crowding: crowd[j], order: j }));
    if (out.length + members.length > n) members.sort((a, b) => b.crowding - a.crowding || a.order - b.order);
    for (const m of members.slice(0, n - out.length)) {
      const { order: _order, ...ranked } = m;
      out.push(ranked);
    }
  }
  return out;
}
