/**
 * A search space: a genome type, the variation operators NSGA-II needs (src/moo GenomeOps), and the
 * mapping of a genome to an Architecture (src/nn/arch.ts) that the trainer builds and the cost
 * model counts. The canonical key of a genome is the sha256 of its *architecture*, so two genomes
 * describing the same network are one candidate (dedup) and share one stored evaluation.
 */
import type { Rng } from '../moo/rng';
import type { GenomeOps } from '../moo/types';
import type { ArchActivation, Architecture } from '../nn/arch';
import { canonicalJson, sha256 } from '../util/fs';

export interface SpaceContext {
  /** Input shape without batch, channels last, e.g. [28, 28, 1] (an image) or [28, 28] (a sequence: timesteps, features). */
  input: number[];
  classes: number;
  /** Activation choices for the activation gene (only those the C and RTL back ends implement). */
  activations: ArchActivation[];
  /** Stride choices of the stem conv (search.stemStrides): the DenseNet template's (default [1]) and the chain space's first conv (default [1, 2]). */
  stemStrides?: number[];
}

export interface SearchSpace<G> extends GenomeOps<G> {
  readonly name: 'densenet' | 'chain' | 'recurrent';
  toArchitecture(g: G): Architecture;
  /** One line, for progress output. */
  describe(g: G): string;
}

export function architectureKey(arch: Architecture): string {
  return sha256(canonicalJson(arch, 0));
}

/** A conv stride above 2 reads every pixel: its kernel is at least the stride (a 3x3 kernel at stride 4 would skip a row and a column of every 4). */
export function patchKernel(kernel: number, stride: number): number {
  return stride > 2 ? Math.max(kernel, stride) : kernel;
}

/** Picks a different element of `choices` than `current` when there is one (mutation must change something). */
export function otherChoice<T>(choices: readonly T[], current: T, rng: Rng): T {
  const others = choices.filter((c) => c !== current);
  return others.length ? rng.pick(others) : current;
}

/** For ordered numeric choices: half the time a neighbouring value (a small step), else any other. */
export function stepChoice(choices: readonly number[], current: number, rng: Rng): number {
  const i = choices.indexOf(current);
  if (i >= 0 && rng.bool(0.5)) {
    const j = i + (rng.bool(0.5) ? 1 : -1);
    if (j >= 0 && j < choices.length) return choices[j];
  }
  return otherChoice(choices, current, rng);
}

/**
 * One-point crossover of two gene lists: a cut point drawn in each parent (a's, then b's), each child a's
 * head with b's tail and the other way round, at most `max` long.
 */
export function crossLists<T>(a: readonly T[], b: readonly T[], max: number, rng: Rng): [T[], T[]] {
  const i = rng.intBetween(1, a.length), j = rng.intBetween(1, b.length);
  return [[...a.slice(0, i), ...b.slice(j)].slice(0, max), [...b.slice(0, j), ...a.slice(i)].slice(0, max)];
}

/** A gene of two parents given to the two children, swapped with probability 1/2 (one draw). */
export function swapGenes<T>(x: T, y: T, rng: Rng): [T, T] {
  return rng.bool() ? [y, x] : [x, y];
}
