/**
 * The chain macro space: a plain sequence of feature layers, a head, and dense layers.
 *
 *   input -> features[0] -> ... -> features[n-1] -> head -> dense(hidden[0]) -> ... -> dense(classes)
 *
 * Genome:
 *   features   1..6 genes, each one of
 *                conv       { filters 4, 8, 12, 16, 24, 32, 48, 64; kernel 1, 3, 5; stride 1, 2 }
 *                           (the first, the stem, always a conv: kernel 3, 5; stride one of search.stemStrides,
 *                           default 1, 2; a stride of 4 is a patch stem: its kernel is at least 4, so every
 *                           pixel is read, and it quarters the outputs a stride of 2 leaves)
 *                depthwise  { kernel 3, 5; stride 1, 2 }   (a depthwise conv; a following 1x1 conv makes it separable)
 *                pool       { kind max | avg }             (2x2, stride 2)
 *              convolutions use `same` padding with BN and the activation; only strides and pools shrink the map
 *   head       flatten | gap (global average pool)
 *   hidden     0..2 dense layers of 16, 32, 64 or 128 units, with the activation
 *   activation one of the space's activations (relu unless the spec allows more)
 * Repairs (applied when mapping to an architecture; the key follows the architecture): a stride or
 * pool that would shrink a map below 1x1 (pool: below 2x2 input) is dropped or made stride 1.
 */
import type { Rng } from '../../moo/rng';
import type { ArchActivation, ArchNode, Architecture } from '../../nn/arch';
import { architectureKey, crossLists, patchKernel, swapGenes, otherChoice, SearchSpace, SpaceContext, stepChoice } from '../space';

export type FeatureGene =
  | { op: 'conv'; filters: number; kernel: number; stride: number }
  | { op: 'depthwise'; kernel: number; stride: number }
  | { op: 'pool'; kind: 'max' | 'avg' };

export interface ChainGenome {
  features: FeatureGene[];
  head: 'flatten' | 'gap';
  hidden: number[];
  activation: ArchActivation;
}

export const CHAIN_CHOICES = {
  filters: [4, 8, 12, 16, 24, 32, 48, 64],
  convKernel: [1, 3, 5],
  depthwiseKernel: [3, 5],
  stride: [1, 2],
  pool: ['max', 'avg'] as const,
  head: ['flatten', 'gap'] as const,
  hidden: [16, 32, 64, 128],
  maxFeatures: 6,
  maxHidden: 2,
};

export function chainSpace(ctx: SpaceContext): SearchSpace<ChainGenome> {
  const C = CHAIN_CHOICES;
  // Without search.stemStrides the stem draws from the strides of every conv, as before the option existed.
  const stemStrides: readonly number[] = ctx.stemStrides ?? C.stride;
  const randomFeature = (rng: Rng): FeatureGene => {
    const r = rng.next();
    if (r < 0.55) return { op: 'conv', filters: rng.pick(C.filters), kernel: rng.pick(C.convKernel), stride: rng.pick(C.stride) };
    if (r < 0.75) return { op: 'depthwise', kernel: rng.pick(C.depthwiseKernel), stride: rng.pick(C.stride) };
    return { op: 'pool', kind: rng.pick(C.pool) };
  };

  const random = (rng: Rng): ChainGenome => {
    const n = rng.intBetween(1, C.maxFeatures);
    // Start with a convolution: a depthwise conv or a pool on the raw input is rarely useful.
    const features: FeatureGene[] = [{ op: 'conv', filters: rng.pick(C.filters), kernel: rng.pick([3, 5]), stride: rng.pick(stemStrides) }];
    while (features.length < n) features.push(randomFeature(rng));
    return {
      features,
      head: rng.pick(C.head),
      hidden: Array.from({ length: rng.int(C.maxHidden + 1) }, () => rng.pick(C.hidden)),
      activation: rng.pick(ctx.activations),
    };
  };

  const mutateFeature = (f: FeatureGene, rng: Rng, stem: boolean): FeatureGene => {
    switch (f.op) {
      case 'conv': {
        const which = rng.int(3);
        if (which === 0) return { ...f, filters: stepChoice(C.filters, f.filters, rng) };
        if (which === 1) return { ...f, kernel: stepChoice(C.convKernel, f.kernel, rng) };
        return { ...f, stride: otherChoice(stem ? stemStrides : C.stride, f.stride, rng) };
      }
      case 'depthwise':
        return rng.bool() ? { ...f, kernel: otherChoice(C.depthwiseKernel, f.kernel, rng) } : { ...f, stride: otherChoice(C.stride, f.stride, rng) };
      case 'pool':
        return { ...f, kind: otherChoice(C.pool, f.kind, rng) };
    }
  };

  const mutate = (g: ChainGenome, rng: Rng): ChainGenome => {
    const out = clone(g);
    const r = rng.next();
    if (r < 0.4) {
      const i = rng.int(out.features.length);
      out.features[i] = mutateFeature(out.features[i], rng, i === 0);
    } else if (r < 0.55 && out.features.length < C.maxFeatures) {
      out.features.splice(rng.intBetween(1, out.features.length), 0, randomFeature(rng));
    } else if (r < 0.7 && out.features.length > 1) {
      out.features.splice(rng.intBetween(1, out.features.length - 1), 1);
    } else if (r < 0.85) {
      if (out.hidden.length && rng.bool()) {
        const i = rng.int(out.hidden.length);
        out.hidden[i] = stepChoice(C.hidden, out.hidden[i], rng);
      } else if (out.hidden.length < C.maxHidden && rng.bool()) out.hidden.push(rng.pick(C.hidden));
      else if (out.hidden.length) out.hidden.pop();
      else out.hidden.push(rng.pick(C.hidden));
    } else if (r < 0.95 || ctx.activations.length < 2) {
      out.head = otherChoice(C.head, out.head, rng);
    } else {
      out.activation = otherChoice(ctx.activations, out.activation, rng);
    }
    return out;
  };

  const toArchitecture = (g: ChainGenome): Architecture => {
    const act = g.activation;
    const layers: ArchNode[] = [];
    let h = ctx.input[0], w = ctx.input[1];
    for (const f of g.features) {
      if (f.op === 'pool') {
        if (h < 2 || w < 2) continue;
        layers.push({ type: f.kind === 'max' ? 'maxpool2d' : 'avgpool2d', pool: 2 });
        h = Math.floor(h / 2);
        w = Math.floor(w / 2);
        continue;
      }
      let stride = h < 2 || w < 2 ? 1 : f.stride;
      // A stride of 4 (a patch stem) would shrink a map under 8x8 to 2x2 or less: stride 2 there instead.
      if (stride > 2 && (h < 8 || w < 8)) stride = 2;
      h = Math.ceil(h / stride);
      w = Math.ceil(w / stride);
      if (f.op === 'conv') {
        layers.push({ type: 'conv2d', filters: f.filters, kernel: patchKernel(f.kernel, stride), ...(stride > 1 ? { stride } : {}), padding: 'same', activation: act, batchnorm: true });
      } else {
        layers.push({ type: 'depthwise_conv2d', kernel: f.kernel, ...(stride > 1 ? { stride } : {}), padding: 'same', activation: act, batchnorm: true });
      }
    }
    layers.push(g.head === 'gap' ? { type: 'global_avgpool2d' } : { type: 'flatten' });
    for (const units of g.hidden) layers.push({ type: 'dense', units, activation: act });
    layers.push({ type: 'dense', units: ctx.classes });
    return { input: [...ctx.input], classes: ctx.classes, layers };
  };

  return {
    name: 'chain',
    random,
    mutate,
    toArchitecture,
    key: (g) => architectureKey(toArchitecture(g)),
    // One-point crossover of the feature lists (cut points drawn in each parent), uniform for the rest.
    crossover: (a, b, rng) => {
      const [f1, f2] = crossLists(a.features, b.features, C.maxFeatures, rng);
      const [h1, h2] = swapGenes(a.head, b.head, rng);
      const [d1, d2] = swapGenes(a.hidden, b.hidden, rng);
      const [a1, a2] = swapGenes(a.activation, b.activation, rng);
      return [
        { features: f1.map((f) => ({ ...f })), head: h1, hidden: [...d1], activation: a1 },
        { features: f2.map((f) => ({ ...f })), head: h2, hidden: [...d2], activation: a2 },
      ];
    },
    // Of the architecture, not of the genes: the repairs' strides and kernels, without the pools they dropped.
    describe: (g) => describeChain(toArchitecture(g), g.activation),
  };
}

/** `conv4x4/4:16 conv3x3/2:32 maxpool flatten fc32 relu`: the layers of a chain architecture, the logits left out. */
function describeChain(a: Architecture, activation: ArchActivation): string {
  const words = a.layers.slice(0, -1).map((l) => {
    switch (l.type) {
      case 'conv2d': return `conv${l.kernel}x${l.kernel}/${l.stride ?? 1}:${l.filters}`;
      case 'depthwise_conv2d': return `dw${l.kernel}x${l.kernel}/${l.stride ?? 1}`;
      case 'maxpool2d': return 'maxpool';
      case 'avgpool2d': return 'avgpool';
      case 'global_avgpool2d': return 'gap';
      case 'flatten': return 'flatten';
      case 'dense': return `fc${l.units}`;
      default: return l.type;
    }
  });
  return `${words.join(' ')} ${activation}`;
}

function clone(g: ChainGenome): ChainGenome {
  return { features: g.features.map((f) => ({ ...f })), head: g.head, hidden: [...g.hidden], activation: g.activation };
}
