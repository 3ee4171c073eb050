/**
 * The generation loop shared by every optimiser: ask a batch, evaluate it (synchronously or as a
 * batch of asynchronous, possibly parallel and cached evaluations), tell, report. Plus a factory
 * that builds the optimiser a spec names.
 */
import { AgingEvolution, RandomSearch } from './baselines';
import { Nsga2 } from './nsga2';
import type { Evaluated, GenomeOps, Optimizer } from './types';

export type AlgorithmName = 'nsga2' | 'random' | 'aging';

export function makeOptimizer<G>(algorithm: AlgorithmName, ops: GenomeOps<G>, opts: { populationSize: number; seed: number | string }): Optimizer<G> {
  switch (algorithm) {
    case 'nsga2':
      return new Nsga2(ops, opts);
    case 'random':
      return new RandomSearch(ops, { batchSize: opts.populationSize, seed: opts.seed });
    case 'aging':
      return new AgingEvolution(ops, { batchSize: opts.populationSize, seed: opts.seed });
  }
}

export interface GenerationInfo<G> {
  /** 0 for the initial population. */
  generation: number;
  batch: Evaluated<G>[];
  optimizer: Optimizer<G>;
}

/**
 * Runs `generations` batches (the initial population counts as one), so the budget is at most
 * populationSize × generations evaluations for every algorithm. Stops early when the optimiser
 * can propose nothing new (a small search space exhausted).
 */
export async function runOptimizer<G>(
  optimizer: Optimizer<G>,
  evaluate: (genomes: G[], generation: number) => Promise<Evaluated<G>[]> | Evaluated<G>[],
  generations: number,
  onGeneration?: (info: GenerationInfo<G>) => void | Promise<void>,
): Promise<void> {
  for (let gen = optimizer.generation; gen < generations; gen++) {
    const genomes = optimizer.ask();
    if (genomes.length === 0) break;
    const batch = await evaluate(genomes, gen);
    optimizer.tell(batch);
    await onGeneration?.({ generation: gen, batch, optimizer });
  }
}

/** Wraps a synchronous objective function (a test problem) as a batch evaluator. */
export function evaluateWith<G>(ops: GenomeOps<G>, f: (g: G) => { objectives: number[]; violation: number }) {
  return (genomes: G[]): Evaluated<G>[] => genomes.map((g) => ({ genome: g, key: ops.key(g), ...f(g) }));
}
