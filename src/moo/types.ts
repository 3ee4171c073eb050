/**
 * The contracts of the multi-objective optimisers. They are generic over the genome: a real vector
 * for the test problems, a network description for the architecture search, a directive set for
 * the hardware design-space exploration. Everything is minimised.
 */
import type { Rng } from './rng';

/** What a problem supplies so that an optimiser can make and vary genomes. */
export interface GenomeOps<G> {
  /** A random genome (the initial population, and refills when variation only finds duplicates). */
  random(rng: Rng): G;
  /**
   * Optional: the genomes of the initial population (the first batch NSGA-II and aging evolution
   * ask for), e.g. stratified over a size measure; may return fewer than `count` (random genomes
   * fill the rest). Without it the initial population is `count` random genomes.
   */
  initial?(count: number, rng: Rng): G[];
  /** Two children from two parents (applied with the optimiser's crossover probability). */
  crossover(a: G, b: G, rng: Rng): [G, G];
  /** A varied copy of `g` (never modifies `g`). */
  mutate(g: G, rng: Rng): G;
  /**
   * A canonical identity: genomes that describe the same thing must give equal keys (so that
   * duplicates are removed and evaluations can be stored content-addressed).
   */
  key(g: G): string;
}

/** A genome with its evaluation. */
export interface Evaluated<G> {
  genome: G;
  key: string;
  /** Objective values, all minimised. */
  objectives: number[];
  /** Total constraint violation: 0 = feasible, larger = worse (constraint-domination compares it). */
  violation: number;
}

/**
 * An optimiser in ask/tell form, so that evaluations can be batched, run in parallel, stored and
 * replayed: `ask()` proposes a batch of new genomes (never one asked before), `tell()` takes their
 * evaluations (in any order; a genome whose evaluation failed may be left out). A run is a pure
 * function of the seed and of the evaluations told, which is what makes resuming by replay exact.
 */
export interface Optimizer<G> {
  readonly name: string;
  /** Batches told so far (0 before the initial population is told). */
  readonly generation: number;
  /**
   * `count` new genomes (default: the optimiser's batch size, its population). A multi-fidelity
   * schedule such as Hyperband asks batches of different sizes.
   */
  ask(count?: number): G[];
  tell(evaluated: Evaluated<G>[]): void;
  /** The current population (NSGA-II, aging evolution) or the archive (random search). */
  population(): Evaluated<G>[];
}
