/**
 * The search over the directive space: every point when the space is small, NSGA-II (src/moo, the
 * optimiser the architecture search uses) when it is large. Objectives, all minimised: cycles,
 * logic cells, EBR blocks, DSP blocks. The constraint is the device with the spec's margin
 * (constraint-domination: fitting points first); a point the generator cannot build (two banking
 * choices for one buffer) is infeasible too.
 *
 * Every evaluated point is kept (the archive), so the frontier and the chosen point are taken over
 * everything the search saw, not just NSGA-II's last population. The one-lane baseline and a greedy
 * descent to the fastest fitting point seed the population, with one point per lane width (every layer
 * at its fastest choice within that width, see widthGenomes): NSGA-II starts from a feasible front. A
 * last greedy descent from the fastest fitting point found polishes it.
 */
import { Nsga2 } from '../moo/nsga2';
import type { Rng } from '../moo/rng';
import type { Evaluated, GenomeOps } from '../moo/types';
import type { Logger } from '../util/log';
import { CostModel, DeviceBudget, greedyFastest, PointCost, repairToFit, violation, widthGenomes } from './cost-model';
import { baselineGenome, DirectiveSpace, Genome, genomeKey } from './space';

export type SearchAlgorithm = 'auto' | 'exhaustive' | 'nsga2';

export interface ExploredPoint {
  id: number;
  genome: Genome;
  key: string;
  cost: PointCost;
  /** Fits the device with the margin and can be built. */
  fits: boolean;
  violation: number;
  /** How it was found: exhaustive, baseline, greedy, width W, NSGA-II generation g, or polish. */
  origin: string;
}

export interface SearchOptions {
  algorithm: SearchAlgorithm;
  /** Exhaustive up to this many points (algorithm auto). */
  exhaustiveLimit: number;
  population: number;
  generations: number;
  seed: number;
  log?: Logger;
}

export interface SearchResult {
  algorithm: 'exhaustive' | 'nsga2';
  points: ExploredPoint[];
  generations: number;
}

export const DEFAULT_SEARCH: Omit<SearchOptions, 'algorithm'> = { exhaustiveLimit: 20_000, population: 48, generations: 60, seed: 1 };

/** Objectives of a point (all minimised). */
export function objectives(c: PointCost): number[] {
  return [c.cycles, c.logicCells, c.ebr, c.dsp];
}

/** Mutation and crossover over the genes (the partitions with a choice). */
export function directiveGenomeOps(space: DirectiveSpace): GenomeOps<Genome> {
  const genes = space.genes;
  const count = (i: number) => space.partitions[i].choices.length;
  return {
    random(rng: Rng) {
      const g = baselineGenome(space);
      for (const i of genes) g[i] = rng.int(count(i));
      return g;
    },
    crossover(a, b, rng) {
      const c1 = [...a];
      const c2 = [...b];
      for (const i of genes) if (rng.bool()) [c1[i], c2[i]] = [b[i], a[i]];
      return [c1, c2];
    },
    mutate(g, rng) {
      const out = [...g];
      const p = Math.max(1 / Math.max(1, genes.length), 0.2);
      let changed = false;
      for (const i of genes) {
        if (!rng.bool(p)) continue;
        changed = true;
        // Half the time a neighbouring choice (choices are ordered by lanes), else any.
        out[i] = rng.bool() ? Math.min(count(i) - 1, Math.max(0, out[i] + (rng.bool() ? 1 : -1) * (1 + rng.int(3)))) : rng.int(count(i));
      }
      if (!changed && genes.length) {
        const i = genes[rng.int(genes.length)];
        out[i] = rng.int(count(i));
      }
      return out;
    },
    key: genomeKey,
  };
}

/** Every point of the space, in mixed-radix order over the genes. */
export function* allGenomes(space: DirectiveSpace): Generator<Genome> {
  const g = baselineGenome(space);
  const genes = space.genes;
  for (;;) {
    yield [...g];
    let k = 0;
    while (k < genes.length) {
      const i = genes[k];
      g[i]++;
      if (g[i] < space.partitions[i].choices.length) break;
      g[i] = 0;
      k++;
    }
    if (k === genes.length) return;
  }
}

export function explore(model: CostModel, budget: DeviceBudget, opts: SearchOptions): SearchResult {
  const space = model.space;
  const algorithm = opts.algorithm === 'auto' ? (space.size <= opts.exhaustiveLimit ? 'exhaustive' : 'nsga2') : opts.algorithm;
  const points: ExploredPoint[] = [];
  const seen = new Map<string, ExploredPoint>();
  const evaluate = (g: Genome, origin: string): ExploredPoint => {
    const key = genomeKey(g);
    const old = seen.get(key);
    if (old) return old;
    const cost = model.evaluate(g);
    const v = cost.legal ? violation(cost, budget) : 1e6;
    const p: ExploredPoint = { id: points.length, genome: g, key, cost, fits: v === 0, violation: v, origin };
    points.push(p);
    seen.set(key, p);
    return p;
  };
  if (algorithm === 'exhaustive') {
    opts.log?.info(`exhaustive search over ${space.size} points`);
    for (const g of allGenomes(space)) evaluate(g, 'exhaustive');
    return { algorithm, points, generations: 0 };
  }
  opts.log?.info(`NSGA-II over a space of ${space.size.toExponential(2)} points: population ${opts.population}, ${opts.generations} generations`);
  const ops = directiveGenomeOps(space);
  const nsga = new Nsga2(ops, { populationSize: opts.population, seed: opts.seed });
  const toEvaluated = (p: ExploredPoint): Evaluated<Genome> => ({ genome: p.genome, key: p.key, objectives: objectives(p.cost), violation: p.violation });
  const base = evaluate(baselineGenome(space), 'baseline');
  const seeds: ExploredPoint[] = [base];
  const greedy = greedyFastest(model, budget);
  if (greedy) seeds.push(evaluate(greedy.genome, 'greedy'));
  for (const w of widthGenomes(model)) {
    const p = evaluate(w.genome, `width ${w.lanes}`);
    if (p.fits) {
      seeds.push(p);
      continue;
    }
    const fixed = repairToFit(model, budget, w.genome);
    if (fixed) seeds.push(evaluate(fixed.genome, `width ${w.lanes}, repaired to fit`));
  }
  let generations = 0;
  for (let gen = 0; gen < opts.generations; gen++) {
    const asked = nsga.ask();
    if (asked.length === 0) break;
    const batch = asked.map((g) => toEvaluated(evaluate(g, `nsga2 generation ${gen}`)));
    if (gen === 0) batch.push(...seeds.filter((s) => !asked.some((g) => genomeKey(g) === s.key)).map(toEvaluated));
    nsga.tell(batch);
    generations++;
  }
  // Polish: a greedy descent from the fastest fitting point NSGA-II found (a lane count one layer can
  // still raise for free, e.g. up to the shared array's width, is rarely hit by mutation alone).
  const fastest = points.filter((p) => p.fits).sort((a, b) => a.cost.cycles - b.cost.cycles || a.cost.logicCells - b.cost.logicCells)[0];
  const polished = fastest && greedyFastest(model, budget, fastest.genome);
  if (polished && polished.cost.cycles < fastest.cost.cycles) {
    const p = evaluate(polished.genome, 'polish');
    opts.log?.info(`polish: ${fastest.cost.cycles} -> ${p.cost.cycles} cycles by a greedy descent from the fastest fitting point`);
  }
  return { algorithm, points, generations };
}
