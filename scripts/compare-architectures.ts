// The fastest point that fits the UP5K (the NAS hook's greedy descent) on each architecture, for a converted model.
// Usage: npx tsx scripts/compare-architectures.ts dist/convert [margin=0.1]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readModelIR } from '../src/ir/serialize';
import { CostModel, deviceBudget, greedyFastest } from '../src/dse/cost-model';
import { getDevice } from '../src/fpga/devices';
import { opMacs } from '../src/qmodel/lower';
const dir = process.argv[2];
const ir = readModelIR(dir);
const knobs = JSON.parse(readFileSync(join(dir, 'knobs.json'), 'utf8'));
const device = getDevice('ice40-up5k');
const budget = deviceBudget(device, Number(process.argv[3] ?? 0.1));
for (const architecture of ['engines', 'array'] as const) {
  const m = new CostModel({ ir, knobs, device, maxLanes: 16, architecture });
  const base = m.evaluate(m.space.partitions.map(() => 0));
  const best = greedyFastest(m, budget);
  const c = best?.cost;
  const macs = m.q.ops.reduce((n, o) => n + opMacs(o), 0);
  console.log(architecture, 'baseline', base.cycles, base.packedLogicCells, 'best', c?.cycles, c?.luts, c?.ffs, 'packed', c?.packedLogicCells, 'ebr', c?.ebr, 'dsp', c?.dsp, 'lanes', best && m.space.partitions.map((p, i) => p.choices[best.genome[i]].lanes + p.choices[best.genome[i]].unroll[0]).join(','), best && m.arraySpec(best.genome)?.lanes, 'macs/cycle', c && (macs / c.cycles).toFixed(2));
}
