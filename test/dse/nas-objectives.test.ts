import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hardwareObjective } from '../../src/dse/cost-model';
import { architectureIR, quantizationKnobs, UNBUILDABLE } from '../../src/dse/nas-objectives';
import { getDevice } from '../../src/fpga/devices';
import { objectiveProvider, type CandidateFacts } from '../../src/nas/objectives';
import type { Architecture } from '../../src/nn/arch';
import { architectureCost } from '../../src/nn/cost';
import { resolveQuantization } from '../../src/quant/config';

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
    assert.equal(luts, h.logicCells);
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
});
