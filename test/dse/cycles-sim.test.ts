import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CostModel } from '../../src/dse/cost-model';
import { allGenomes } from '../../src/dse/search';
import { toDirectiveSet } from '../../src/dse/space';
import { getDevice } from '../../src/fpga/devices';
import { Rng } from '../../src/moo/rng';
import { maxInt, minInt } from '../../src/numerics/fixed';
import { generateRtl } from '../../src/rtl/generate';
import { encodeInputBytes } from '../../src/rtl/interface';
import { runReference } from '../../src/sim/reference';
import { simulate } from '../../src/sim/simulate';
import { KNOBS8, mixedModel, TEST_CALIBRATION } from './helpers';

const dir = mkdtempSync(join(tmpdir(), 'dm-dse-cycles-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * The cost model's cycles are exact in two steps: they equal the cycle report of the RTL generator
 * for the same directive set (checked on many points: no simulation needed), and a design whose
 * layers use every kind of choice at once (both unrolls, block banking, pipelining on and off)
 * runs exactly that many cycles in simulation. (test/rtl checks the generator's report against
 * simulation on its own designs; one simulator build here keeps this test short.)
 */
describe('dse: predicted cycles equal simulated cycles', () => {
  const ir = mixedModel(2);
  const device = getDevice('ice40-up5k');
  const rtlDevice = { name: device.name, dsp: device.dsp, spram: device.spram };
  const model = new CostModel({ ir, knobs: KNOBS8, device, maxLanes: 8, calibration: TEST_CALIBRATION });

  it("equal the RTL generator's cycle report on sampled points of a model with conv, depthwise, average and global pools and a dense layer", () => {
    let n = 0;
    let sampled = 0;
    let compared = 0;
    for (const g of allGenomes(model.space)) {
      if (n++ % 97 !== 0) continue; // a spread sample of the whole space
      sampled++;
      const cost = model.evaluate(g);
      if (!cost.legal) continue;
      assert.equal(cost.cycles, generateRtl(ir, KNOBS8, toDirectiveSet(model.space, g), rtlDevice).cycles.cycles, `point ${g.join('.')}`);
      compared++;
    }
    assert.ok(n >= model.space.size && model.space.size / 97 > 20);
    // Skipping illegal points must not empty the check: when written, all 291 sampled points were legal.
    assert.ok(compared >= 200 && compared >= 0.8 * sampled, `${compared} of ${sampled} sampled points compared`);
  });

  it('equal the simulated cycles of a design using every kind of choice, which computes the model', async () => {
    // conv: reduction unroll, no pipeline; dw: banked lanes; fc: block outputs unroll, pipelined.
    const pick = (layer: string, ok: (c: (typeof model.space.partitions)[number]['choices'][number]) => boolean) => {
      const p = model.space.partitions.find((x) => x.layer === layer)!;
      const j = p.choices.findIndex(ok);
      assert.ok(j > 0, layer);
      return j;
    };
    const g = model.space.partitions.map(() => 0);
    const at = (layer: string) => model.space.partitions.findIndex((p) => p.layer === layer);
    g[at('conv')] = pick('conv', (c) => c.unroll === 'reduction' && c.lanes === 4 && !c.pipeline && c.multiplier === 'auto');
    g[at('dw')] = pick('dw', (c) => c.lanes === 2 && c.pipeline && c.multiplier === 'auto');
    g[at('fc')] = pick('fc', (c) => c.unroll === 'outputs' && c.partition === 'block' && c.lanes === 3 && c.pipeline && c.multiplier === 'lut');
    const cost = model.evaluate(g);
    assert.ok(cost.legal);
    const gen = generateRtl(ir, KNOBS8, toDirectiveSet(model.space, g), rtlDevice);
    const sources = [...gen.verilog].map(([f, t]) => (writeFileSync(join(dir, f), t), join(dir, f)));
    const dataFiles = [...gen.hex].map(([f, t]) => (writeFileSync(join(dir, f), t), join(dir, f)));
    const f = gen.interface.inputFormat;
    const rng = new Rng('cycles-sim');
    const inputs = Array.from({ length: 2 }, () => Int32Array.from({ length: gen.interface.inputElements }, () => rng.intBetween(minInt(f.bits), maxInt(f.bits))));
    mkdirSync(join(dir, 'builds'));
    const sim = await simulate({
      sources, dataFiles, top: gen.top, inputBytes: gen.interface.inputBytes, outputs: gen.interface.outputs, outBits: gen.interface.outBits,
      samples: inputs.map((x) => encodeInputBytes(x, f)), workDir: join(dir, 'builds'), optimize: 0, maxCyclesPerSample: cost.cycles * 2 + 1000,
    });
    assert.deepEqual(sim.cycles, [cost.cycles, cost.cycles], `predicted ${cost.cycles}`);
    // And the hardware computes the model (so the cycles are those of a working design).
    inputs.forEach((x, i) => assert.deepEqual([...sim.logits[i]], [...runReference(gen.q, x).output]));
  });
});
