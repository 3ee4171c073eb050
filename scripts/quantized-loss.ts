// What ternary quantization (weights and activations, ToT-Net) costs each of a few small MNIST networks when
// trained the same way: float training (E epochs, default 6; Adam 0.002, cosine, batch 64, seed 1, early
// stopping patience 3), then the train stage's quantization-aware fine-tuning (FT epochs, default 3).
// Prints float and ternary test accuracy per network. The README's "Quantization-aware ranking" figures.
// Usage: [E=6] [FT=3] npx tsx scripts/quantized-loss.ts <a data stage's dist/data, MNIST 28x28x1> [network names...]
import { readSplit } from '../src/data/tensors';
import { trainArchitecture } from '../src/nn/train';
import { quantizationAwareTraining } from '../src/quant/qat';
import { resolveQuantization } from '../src/quant/config';
import { architectureCost } from '../src/nn/cost';
import type { Architecture } from '../src/nn/arch';
const D = (u: number): any => ({ type: 'dense', units: u, activation: 'relu' });
const C = (f: number, k: number, s: number): any => ({ type: 'conv2d', filters: f, kernel: k, stride: s, padding: 'same', activation: 'relu' });
const nets: Record<string, Architecture['layers']> = {
  'p2-d128': [{ type: 'avgpool2d', pool: 2 } as any, { type: 'flatten' }, D(128), { type: 'dense', units: 10 }],
  'fl-d64': [{ type: 'flatten' }, D(64), { type: 'dense', units: 10 }],
  'p2-d128-d64': [{ type: 'avgpool2d', pool: 2 } as any, { type: 'flatten' }, D(128), D(64), { type: 'dense', units: 10 }],
  'p2-d256': [{ type: 'avgpool2d', pool: 2 } as any, { type: 'flatten' }, D(256), { type: 'dense', units: 10 }],
  'c16k4s4-fl-d64': [C(16, 4, 4), { type: 'flatten' }, D(64), { type: 'dense', units: 10 }],
  'c8s2-c16s2-fl': [C(8, 3, 2), C(16, 3, 2), { type: 'flatten' }, { type: 'dense', units: 10 }],
  'c16s2-c32s2-fl': [C(16, 3, 2), C(32, 3, 2), { type: 'flatten' }, { type: 'dense', units: 10 }],
  'c16s2-c16s2-fl': [C(16, 3, 2), C(16, 3, 2), { type: 'flatten' }, { type: 'dense', units: 10 }],
  'c16k4s4-c32s2-fl': [C(16, 4, 4), C(32, 3, 2), { type: 'flatten' }, { type: 'dense', units: 10 }],
  'c16s2-c32s2-gap': [C(16, 3, 2), C(32, 3, 2), { type: 'global_avgpool2d' } as any, { type: 'dense', units: 10 }],
};
const dir = process.argv[2];
if (!dir) throw new Error('usage: npx tsx scripts/quantized-loss.ts <dist/data> [network names...]');
const pick = process.argv.slice(3);
const epochs = Number(process.env.E ?? 6);
(async () => {
  const data = { train: readSplit(dir, 'train'), validation: readSplit(dir, 'validation'), test: readSplit(dir, 'test') };
  const plan = resolveQuantization({ mode: 'ternary', activations: { bits: 8, integer: 4 }, ternary: { activations: true, threshold: 0.7 }, fineTune: { epochs: Number(process.env.FT ?? 3) } } as any, { rounding: 'half-even', overflow: 'saturate' });
  for (const [name, layers] of Object.entries(nets)) {
    if (pick.length && !pick.includes(name)) continue;
    const arch: Architecture = { input: [28, 28, 1], classes: 10, layers } as any;
    const t0 = Date.now();
    const opts = { batchSize: 64, learningRate: 0.002, schedule: 'cosine', optimizer: 'adam', seed: 1, earlyStopping: { patience: 3 } } as any;
    const f = await trainArchitecture(arch, { train: data.train, validation: data.validation }, { ...opts, epochs });
    const q = await quantizationAwareTraining({ arch, data, floatModel: f.model, plan, train: opts, sparsitySamples: 500 });
    const r = q.report.quantization;
    console.log(name, 'params', architectureCost(arch).params, 'float', r.float.testAccuracy.toFixed(4), 'ternary', r.quantized.testAccuracy.toFixed(4), 'val', r.quantized.validationAccuracy.toFixed(4), 'bits', q.report.weightBits, ((Date.now() - t0) / 1000).toFixed(0), 's');
  }
})();
