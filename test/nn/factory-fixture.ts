/** A model factory module for the trainer's `modelFactory` hook (loaded by path, also in worker threads). */
import type { Architecture } from '../../src/nn/arch';
import { buildModel } from '../../src/nn/build';

export function buildWithSeedOffset(arch: Architecture, seed: number, options: { offset: number }) {
  return buildModel(arch, { seed: seed + options.offset });
}
