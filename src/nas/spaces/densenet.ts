/**
 * The DeepMaker DenseNet-like template (Loni et al., "DeepMaker", 2020): a stem convolution, one to
 * three dense blocks separated by transitions, a head and an optional hidden classifier layer.
 *
 *   input
 *   -> conv2d(stem filters, 3x3, stride stemStride, same, BN, activation)  [-> 2x2 pool if stemPool]
 *   -> dense_block(layers[0], growth, kernels[0])
 *   -> transition(compression, pool)  -> dense_block(layers[1], ...)   (if blocks >= 2)
 *   -> transition(compression, pool)  -> dense_block(layers[2], ...)   (if blocks == 3)
 *   -> head: global average pool, or transition + flatten
 *   -> dense(classifier, activation)  (if classifier > 0)
 *   -> dense(classes)                 (logits)
 *
 * Genome (every gene a choice from the lists below):
 *   stem         filters of the stem conv            4, 8, 12, 16, 24
 *   stemStride   stride of the stem conv             search.stemStrides (default [1]: no gene; [1, 2]:
 *                                                    also DenseNet's own strided stem, 28 -> 14; 4: a
 *                                                    4x4 patch stem, 28 -> 7)
 *   stemPool     2x2 pool after the stem (28 -> 14)  true | false
 *   blocks       dense blocks                        1, 2, 3
 *   layers[b]    conv units in block b               1, 2, 3, 4
 *   kernels[b]   kernel size in block b              3, 5
 *   growth       channels each unit adds             4, 6, 8, 12, 16
 *   compression  transition channel factor           0.5, 0.75, 1
 *   pool         transition pooling                  max | avg
 *   head         gap | flatten
 *   classifier   hidden dense units (0 = none)       0, 16, 32, 64
 *   activation   one of the space's activations (relu unless the spec allows more)
 * Every conv unit is Conv -> BatchNormalization -> activation (BN folds into the conv for the
 * hardware). Unused per-block genes (b >= blocks) are carried along (they come back when a mutation
 * adds a block) but are not part of the architecture, so they do not change the key.
 * A stem stride of 2 is used only on inputs of at least 8x8, and blocks that would pool an input
 * smaller than 2x2 are dropped (repairs; the key follows the architecture).
 */
import type { Rng } from '../../moo/rng';
import type { ArchActivation, ArchNode, Architecture } from '../../nn/arch';
import { architectureKey, otherChoice, patchKernel, SearchSpace, SpaceContext, stepChoice } from '../space';

export interface DenseNetGenome {
  stem: number;
  /** 1 or 2; absent in genomes stored before the gene existed (read as 1). */
  stemStride?: number;
  stemPool: boolean;
  blocks: number;
  layers: number[];
  kernels: number[];
  growth: number;
  compression: number;
  pool: 'max' | 'avg';
  head: 'gap' | 'flatten';
  classifier: number;
  activation: ArchActivation;
}

export const DENSENET_CHOICES = {
  stem: [4, 8, 12, 16, 24],
  blocks: [1, 2, 3],
  layers: [1, 2, 3, 4],
  kernels: [3, 5],
  growth: [4, 6, 8, 12, 16],
  compression: [0.5, 0.75, 1],
  pool: ['max', 'avg'] as const,
  head: ['gap', 'flatten'] as const,
  classifier: [0, 16, 32, 64],
};
const MAX_BLOCKS = 3;

type Gene = keyof DenseNetGenome;
const GENES: Gene[] = ['stem', 'stemPool', 'blocks', 'layers', 'kernels', 'growth', 'compression', 'pool', 'head', 'classifier', 'activation'];

export function denseNetSpace(ctx: SpaceContext): SearchSpace<DenseNetGenome> {
  const C = DENSENET_CHOICES;
  // The stem-stride gene exists only with more than one choice: a space without it draws, mutates
  // and crosses exactly as before the gene existed, so earlier searches replay.
  const strides = ctx.stemStrides && ctx.stemStrides.length > 1 ? ctx.stemStrides : undefined;
  const genes: Gene[] = strides ? ['stem', 'stemStride', ...GENES.slice(1)] : GENES;
  const random = (rng: Rng): DenseNetGenome => ({
    stem: rng.pick(C.stem),
    stemPool: rng.bool(),
    blocks: rng.pick(C.blocks),
    layers: Array.from({ length: MAX_BLOCKS }, () => rng.pick(C.layers)),
    kernels: Array.from({ length: MAX_BLOCKS }, () => rng.pick(C.kernels)),
    growth: rng.pick(C.growth),
    compression: rng.pick(C.compression),
    pool: rng.pick(C.pool),
    head: rng.pick(C.head),
    classifier: rng.pick(C.classifier),
    activation: rng.pick(ctx.activations),
    ...(strides ? { stemStride: rng.pick(strides) } : ctx.stemStrides?.length === 1 && ctx.stemStrides[0] !== 1 ? { stemStride: ctx.stemStrides[0] } : {}),
  });

  const mutateGene = (g: DenseNetGenome, gene: Gene, rng: Rng): void => {
    switch (gene) {
      case 'stem': g.stem = stepChoice(C.stem, g.stem, rng); break;
      case 'stemStride': if (strides) g.stemStride = otherChoice(strides, g.stemStride ?? 1, rng); break;
      case 'stemPool': g.stemPool = !g.stemPool; break;
      case 'blocks': g.blocks = stepChoice(C.blocks, g.blocks, rng); break;
      case 'layers': { const b = rng.int(g.blocks); g.layers[b] = stepChoice(C.layers, g.layers[b], rng); break; }
      case 'kernels': { const b = rng.int(g.blocks); g.kernels[b] = otherChoice(C.kernels, g.kernels[b], rng); break; }
      case 'growth': g.growth = stepChoice(C.growth, g.growth, rng); break;
      case 'compression': g.compression = stepChoice(C.compression, g.compression, rng); break;
      case 'pool': g.pool = otherChoice(C.pool, g.pool, rng); break;
      case 'head': g.head = otherChoice(C.head, g.head, rng); break;
      case 'classifier': g.classifier = stepChoice(C.classifier, g.classifier, rng); break;
      case 'activation': g.activation = otherChoice(ctx.activations, g.activation, rng); break;
    }
  };

  const toArchitecture = (g: DenseNetGenome): Architecture => {
    const act = g.activation;
    const stride = g.stemStride ?? 1;
    let size = Math.min(ctx.input[0], ctx.input[1]);
    // A stride of 1 is left out of the node, so the networks of the unstrided stem keep their keys.
    const strided = stride > 1 && size >= 8;
    const layers: ArchNode[] = [{ type: 'conv2d', filters: g.stem, kernel: strided ? patchKernel(3, stride) : 3, ...(strided ? { stride } : {}), padding: 'same', activation: act, batchnorm: true }];
    if (strided) size = Math.ceil(size / stride);
    if (g.stemPool && size >= 4) {
      layers.push({ type: g.pool === 'max' ? 'maxpool2d' : 'avgpool2d', pool: 2 });
      size = Math.floor(size / 2);
    }
    for (let b = 0; b < g.blocks; b++) {
      if (b > 0) {
        if (size < 4) break; // a further transition would leave less than 2x2
        layers.push({ type: 'transition', compression: g.compression, pool: g.pool, activation: act, batchnorm: true });
        size = Math.floor(size / 2);
      }
      layers.push({ type: 'dense_block', layers: g.layers[b], growth: g.growth, kernel: g.kernels[b], activation: act, batchnorm: true });
    }
    if (g.head === 'gap') layers.push({ type: 'global_avgpool2d' });
    else {
      if (size >= 2) layers.push({ type: 'transition', compression: g.compression, pool: g.pool, activation: act, batchnorm: true });
      layers.push({ type: 'flatten' });
    }
    if (g.classifier > 0) layers.push({ type: 'dense', units: g.classifier, activation: act });
    layers.push({ type: 'dense', units: ctx.classes });
    return { input: [...ctx.input], classes: ctx.classes, layers };
  };

  return {
    name: 'densenet',
    random,
    toArchitecture,
    key: (g) => architectureKey(toArchitecture(g)),
    // Uniform crossover, block genes exchanged per block (a block's depth and kernel travel together).
    crossover: (a, b, rng) => {
      const c1 = clone(a), c2 = clone(b);
      const swap = <K extends Gene>(k: K) => {
        const t = c1[k];
        c1[k] = c2[k];
        c2[k] = t;
      };
      for (const gene of genes) {
        if (gene === 'layers' || gene === 'kernels') continue;
        if (rng.bool()) swap(gene);
      }
      for (let k = 0; k < MAX_BLOCKS; k++) {
        if (rng.bool()) {
          [c1.layers[k], c2.layers[k]] = [b.layers[k], a.layers[k]];
          [c1.kernels[k], c2.kernels[k]] = [b.kernels[k], a.kernels[k]];
        }
      }
      return [c1, c2];
    },
    // One gene always changes; each other gene changes with probability 1/(number of genes).
    mutate: (g, rng) => {
      const out = clone(g);
      const forced = rng.pick(genes);
      mutateGene(out, forced, rng);
      for (const gene of genes) if (gene !== forced && rng.bool(1 / genes.length)) mutateGene(out, gene, rng);
      return out;
    },
    // The stem and blocks of the architecture the repairs built (a stride, a pool or blocks dropped on small inputs), not of the genes.
    describe: (g) => {
      const a = toArchitecture(g);
      const stem = a.layers[0] as Extract<ArchNode, { type: 'conv2d' }>;
      const pooled = a.layers[1]?.type === 'maxpool2d' || a.layers[1]?.type === 'avgpool2d';
      const blocks = a.layers.filter((l) => l.type === 'dense_block').length;
      return (
        `stem ${g.stem}${(stem.stride ?? 1) > 1 ? `/${stem.stride}` : ''}${pooled ? '+pool' : ''}, blocks ${g.layers.slice(0, blocks).map((l, i) => `${l}x${g.kernels[i]}x${g.kernels[i]}`).join('/')}` +
        `, growth ${g.growth}, compression ${g.compression}, ${g.pool} pool, ${g.head}${g.classifier ? `, fc ${g.classifier}` : ''}, ${g.activation}`
      );
    },
  };
}

function clone(g: DenseNetGenome): DenseNetGenome {
  return { ...g, layers: [...g.layers], kernels: [...g.kernels] };
}
