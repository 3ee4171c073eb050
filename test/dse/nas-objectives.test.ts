import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hardwareObjective } from '../../src/dse/cost-model';
import { architectureIR, quantizationKnobs, UNBUILDABLE } from '../../src/dse/nas-objectives';
import { getDevice } from '../../src/fpga/devices';
import { measureCandidate, objectiveProvider, resolveConstraints, weightMemoryBits, type CandidateFacts } from '../../src/nas/objectives';
import type { Architecture } from '../../src/nn/arch';
import { architectureCost } from '../../src/nn/cost';
import { resolveQuantization } from '../../src/quant/config';
import { STAGES } from '../../src/stages/registry';

const numerics = { rounding: 'half-even' as const, overflow: 'saturate' as const };

function facts(arch: Architecture, device = 'ice40-up5k'): CandidateFacts {
  return { arch, cost: architectureCost(arch), quantization: resolveQuantization({ mode: 'fixed' } as never, numerics), device };
}

const small: Architecture = {
  input: [12, 12, 1],
  classes: 10,
  layers: [
    { type: 'conv2d', filters: 4, kernel: 3, activation: 'relu', batchnorm: true },
    { type: 'maxpool2d', pool: 2 },
    { type: 'dense', units: 10 },
  ],
};

describe('dse: NAS hook (hardware objectives)', () => {
  it('registers cycles and luts; both come from the cost model on the candidate as the convert stage would build it', () => {
    const f = facts(small);
    const cycles = objectiveProvider('cycles').measure(f);
    const luts = objectiveProvider('luts').measure(f);
    const ir = architectureIR(small, f.quantization);
    // BatchNormalization folded and its activation fused: conv, pool, dense engines (flatten is free).
    assert.deepEqual(ir.layers.map((l) => l.type), ['input', 'conv2d', 'maxpool2d', 'flatten', 'dense']);
    assert.equal(ir.layers[1].activation.kind, 'relu');
    const h = hardwareObjective({ ir, knobs: quantizationKnobs(f.quantization), device: getDevice('ice40-up5k') });
    assert.equal(cycles, h.cycles);
    assert.equal(luts, h.packedLogicCells, 'the luts objective is the packed prediction (src/dse/packing.ts)');
    assert.ok(h.packedLogicCells > h.logicCells, 'packing needs more cells than Yosys counts');
    assert.ok(h.fits && cycles < h.baselineCycles && cycles < UNBUILDABLE);
  });

  it('a wider network costs more logic or more cycles; one the RTL cannot build is pushed out', () => {
    const wide: Architecture = { ...small, layers: [{ type: 'conv2d', filters: 16, kernel: 3, activation: 'relu' }, { type: 'maxpool2d', pool: 2 }, { type: 'dense', units: 10 }] };
    const a = facts(small);
    const b = facts(wide);
    const more = objectiveProvider('cycles').measure(b) > objectiveProvider('cycles').measure(a) || objectiveProvider('luts').measure(b) > objectiveProvider('luts').measure(a);
    assert.ok(more);
    const tanh: Architecture = { ...small, layers: [{ type: 'conv2d', filters: 4, kernel: 3, activation: 'tanh' }, { type: 'dense', units: 10 }] };
    assert.equal(objectiveProvider('cycles').measure(facts(tanh)), UNBUILDABLE);
  });

  it('maxLuts: device admits a network only when its whole design fits, where maxWeightBits: device looks at weights only', () => {
    const constraints = resolveConstraints({ maxWeightBits: 'device', maxLuts: 'device' }, 'ice40-up5k');
    assert.deepEqual(constraints, [{ objective: 'luts', limit: 5280 }, { objective: 'weightBits', limit: 122880 }]);
    // The first default search's pick: its 8-bit weights fit the EBR (85,280 bits), but with the
    // activation buffers its one-lane design needs 32 EBR of the UP5K's 30.
    const wide: Architecture = {
      input: [28, 28, 1],
      classes: 10,
      layers: [
        { type: 'conv2d', filters: 4, kernel: 3, padding: 'same', activation: 'relu', batchnorm: true },
        { type: 'avgpool2d', pool: 2 },
        { type: 'dense_block', layers: 2, growth: 6, kernel: 3, activation: 'relu', batchnorm: true },
        { type: 'transition', compression: 0.75, pool: 'avg', activation: 'relu', batchnorm: true },
        { type: 'flatten' },
        { type: 'dense', units: 16, activation: 'relu' },
        { type: 'dense', units: 10 },
      ],
    };
    const f = facts(wide);
    assert.equal(weightMemoryBits(f.cost, f.quantization), 85280);
    const m = measureCandidate(f, [], constraints);
    assert.ok(m.values.weightBits <= 122880, 'the weights alone fit');
    assert.equal(m.values.luts, UNBUILDABLE, 'the design does not');
    assert.ok(m.violation > 0);
    const ok = measureCandidate(facts(small), [], constraints);
    assert.equal(ok.violation, 0);
    assert.ok(ok.values.luts <= 5280);
    assert.throws(() => resolveConstraints({ maxMacs: 'device' as never }, 'ice40-up5k'), /'device' is only a limit for maxWeightBits and maxLuts/);
  });

  it('the hardware objectives use dse.maxLanes: a ternary network with 128-unit layers gets fewer cycles with 64 lanes than with 16', () => {
    const mlp: Architecture = { input: [28, 28, 1], classes: 10, layers: [{ type: 'avgpool2d', pool: 2 }, { type: 'flatten' }, { type: 'dense', units: 128, activation: 'relu' }, { type: 'dense', units: 10 }] };
    const ternary = resolveQuantization({ mode: 'ternary', activations: { bits: 8, integer: 4 }, ternary: { activations: true } } as never, numerics);
    const base = { arch: mlp, cost: architectureCost(mlp), quantization: ternary, device: 'ice40-up5k' };
    const c16 = objectiveProvider('cycles').measure({ ...base, maxLanes: 16 });
    const c64 = objectiveProvider('cycles').measure({ ...base, maxLanes: 64 });
    assert.ok(c16 < UNBUILDABLE && c64 < UNBUILDABLE, `${c16} ${c64}`);
    assert.ok(c64 < c16 * 0.8, `64 lanes: ${c64} cycles, 16 lanes: ${c16}`);
    assert.equal(objectiveProvider('cycles').measure(base), c16, 'the default is 16 lanes, as dse.maxLanes');
  });

  it('the nas stage\'s spec view holds what its hardware objectives read: quantize.activations and dse.maxLanes', () => {
    const nas = STAGES.find((s) => s.name === 'nas')!;
    const spec = { search: {}, quantize: { mode: 'fixed', activations: { bits: 6, integer: 3 } }, target: { device: 'ice40-up5k' }, dse: { maxLanes: 32 } } as never;
    const view = nas.view(spec) as any;
    assert.deepEqual(view.quantize.activations, { bits: 6, integer: 3 });
    assert.equal(view.dse.maxLanes, 32);
    assert.equal(view.quantize.ternary, undefined);
    assert.equal(view.numerics, undefined);
    // A quantization-aware search fine-tunes as the train stage does: all of quantize and the C's numerics.
    const quantize = { mode: 'ternary', activations: { bits: 8, integer: 4 }, ternary: { activations: true, threshold: 0.6 }, fineTune: { learningRate: 0.001 } };
    const qa = nas.view({ search: { training: { quantizedEpochs: 1 } }, quantize, convert: { rounding: 'half-even', overflow: 'wrap' }, train: { learningRate: 0.002 }, target: { device: 'ice40-up5k' } } as never) as any;
    assert.deepEqual(qa.quantize, quantize);
    assert.deepEqual(qa.numerics, { rounding: 'half-even', overflow: 'wrap' });
    assert.equal(qa.trainLearningRate, 0.002);
    assert.equal((nas.view({ ...(spec as object), train: { learningRate: 0.002 } } as never) as any).trainLearningRate, undefined);
    // A confirmation with the train stage's recipe trains as the train stage does: the train section's settings (not its architecture) too.
    const train = { architecture: 'selected', epochs: 12, batchSize: 64, learningRate: 0.002, schedule: 'cosine', optimizer: 'adam', earlyStopping: { patience: 3 }, backend: 'auto', workers: 1, seed: 1 };
    const recipe = nas.view({ search: { fidelity: { final: { top: 4, recipe: 'train' } } }, quantize, convert: { rounding: 'half-even', overflow: 'wrap' }, train, target: { device: 'ice40-up5k' } } as never) as any;
    assert.deepEqual(JSON.parse(JSON.stringify(recipe.train)), { epochs: 12, batchSize: 64, learningRate: 0.002, schedule: 'cosine', optimizer: 'adam', earlyStopping: { patience: 3 }, backend: 'auto', seed: 1 });
    assert.deepEqual(recipe.quantize, quantize);
    assert.equal((nas.view({ search: { fidelity: { final: { top: 4, epochs: 3 } } }, quantize, train, target: { device: 'ice40-up5k' } } as never) as any).train, undefined);
  });
});
