import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CostModel } from '../../src/dse/cost-model';
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

describe('dse: predicted cycles equal simulated cycles', () => {
  it('for sampled points of a model with conv, depthwise, average and global pools and a dense layer', async () => {
    const ir = mixedModel(2);
    const device = getDevice('ice40-up5k');
    const model = new CostModel({ ir, knobs: KNOBS8, device, maxLanes: 8, calibration: TEST_CALIBRATION });
    const rng = new Rng('cycles-sim');
    // The baseline, and random points with lanes > 1, pipelining on and off, both unrolls.
    const points = [model.space.partitions.map(() => 0)];
    while (points.length < 3) {
      const g = model.space.partitions.map((p) => rng.int(p.choices.length));
      if (model.evaluate(g).legal) points.push(g);
    }
    for (const [n, g] of points.entries()) {
      const cost = model.evaluate(g);
      const gen = generateRtl(ir, KNOBS8, toDirectiveSet(model.space, g), { name: device.name, dsp: device.dsp, spram: device.spram });
      const d = join(dir, `p${n}`);
      mkdirSync(d);
      const sources = [...gen.verilog].map(([f, t]) => (writeFileSync(join(d, f), t), join(d, f)));
      const dataFiles = [...gen.hex].map(([f, t]) => (writeFileSync(join(d, f), t), join(d, f)));
      const f = gen.interface.inputFormat;
      const inputs = Array.from({ length: 2 }, () => Int32Array.from({ length: gen.interface.inputElements }, () => rng.intBetween(minInt(f.bits), maxInt(f.bits))));
      const sim = await simulate({
        sources, dataFiles, top: gen.top, inputBytes: gen.interface.inputBytes, outputs: gen.interface.outputs, outBits: gen.interface.outBits,
        samples: inputs.map((x) => encodeInputBytes(x, f)), workDir: join(dir, 'builds'), optimize: 0, maxCyclesPerSample: cost.cycles * 2 + 1000,
      });
      assert.deepEqual(sim.cycles, [cost.cycles, cost.cycles], `point ${g.join('.')}: predicted ${cost.cycles}`);
      // And the hardware computes the model (so the cycles are those of a working design).
      inputs.forEach((x, i) => assert.deepEqual([...sim.logits[i]], [...runReference(gen.q, x).output]));
    }
  });
});
