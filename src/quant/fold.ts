/**
 * BatchNormalization folded before fixed-point fine-tuning. The C folds each BN into the
 * convolution before it (kernel·s, bias·s + t per output channel) and then quantizes that folded
 * kernel; quantization-aware training must therefore quantize the folded kernel too, or the C
 * would hold other values than the ones training adapted to. So fixed-point fine-tuning trains a
 * BN-free twin of the architecture that starts from the folded float weights.
 *
 * The twin keeps every layer name of the original: `batchnorm: true` on a conv / depthwise /
 * dense_block / transition becomes false (the conv gets a bias and its activation back), and a
 * standalone `batchnorm` node that follows a linear conv/dense becomes a rate-0 Dropout (an
 * identity that keeps the node indices, hence the names, of every later layer; convert drops it).
 * A standalone BN that cannot fold (after a pooling, an activation...) stays.
 *
 * Ternary training keeps its BatchNormalization layers: folding scales each filter's α and keeps
 * the kernel ternary, so the C holds exactly what training computed.
 */
import * as tf from '@tensorflow/tfjs';
import type { ArchNode, Architecture } from '../nn/arch';
import { planArchitecture, type PlannedLayer } from '../nn/plan';

const FOLDS_INTO = new Set(['Conv2D', 'DepthwiseConv2D', 'Dense']);

/** BatchNormalization layers of the plan that fold into the layer before them. */
function foldablePairs(arch: Architecture): { bn: PlannedLayer; host: PlannedLayer }[] {
  const plan = planArchitecture(arch);
  const byName = new Map(plan.layers.map((l) => [l.name, l]));
  const pairs: { bn: PlannedLayer; host: PlannedLayer }[] = [];
  for (const bn of plan.layers) {
    if (bn.kind !== 'BatchNormalization') continue;
    const host = byName.get(bn.inputs[0]);
    if (!host || !FOLDS_INTO.has(host.kind) || (host.config.activation ?? 'linear') !== 'linear') continue;
    if (plan.layers.filter((l) => l.inputs.includes(host.name)).length !== 1) continue;
    pairs.push({ bn, host });
  }
  return pairs;
}

export function hasFoldableBatchNorm(arch: Architecture): boolean {
  return foldablePairs(arch).length > 0;
}

/** The BN-free twin (same layer names), as documented above. */
export function foldBatchNormArchitecture(arch: Architecture): Architecture {
  const pairs = foldablePairs(arch);
  const standalone = new Set(pairs.filter((p) => p.bn.node >= 0 && arch.layers[p.bn.node].type === 'batchnorm').map((p) => p.bn.node));
  const layers = arch.layers.map((n, i): ArchNode => {
    if (standalone.has(i)) return { type: 'dropout', rate: 0 };
    if ('batchnorm' in n && n.batchnorm) return { ...n, batchnorm: false } as ArchNode;
    return n;
  });
  return { ...arch, layers };
}

/**
 * Copies the float model's weights into the twin's model, folding each foldable BN into its host:
 * kernel·s and bias·s + t per output channel, s = gamma/sqrt(variance + epsilon), t = beta - mean·s.
 */
export function copyFoldedWeights(arch: Architecture, from: tf.LayersModel, to: tf.LayersModel): void {
  const folded = new Map(foldablePairs(arch).map((p) => [p.host.name, p.bn.name]));
  for (const layer of to.layers) {
    let src: tf.layers.Layer;
    try {
      src = from.getLayer(layer.name);
    } catch {
      continue;
    }
    const bnName = folded.get(layer.name);
    if (!bnName) {
      const a = src.getWeights();
      if (a.length && a.length === layer.getWeights().length) layer.setWeights(a);
      continue;
    }
    const bn = from.getLayer(bnName);
    const [gamma, beta, mean, variance] = bn.getWeights().map((w) => w.dataSync());
    const eps = (bn.getConfig().epsilon as number | undefined) ?? 1e-3;
    const [kernel, bias] = src.getWeights();
    const k = kernel.dataSync();
    const c = gamma.length;
    const s = Float64Array.from({ length: c }, (_, i) => gamma[i] / Math.sqrt(variance[i] + eps));
    const kf = Float32Array.from(k, (v, i) => v * s[i % c]);
    const b = bias ? bias.dataSync() : new Float32Array(c);
    const bf = Float32Array.from({ length: c }, (_, i) => b[i] * s[i] + (beta[i] - mean[i] * s[i]));
    layer.setWeights([tf.tensor(kf, kernel.shape), tf.tensor1d(bf)]);
  }
}
