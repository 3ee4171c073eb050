// Refits src/dse/calibration/packing.json (the packed-logic-cell model, src/dse/packing.ts) from the
// designs bench/admission.bench.ts synthesized and packed (bench/results/admission.json).
// Usage: npm run bench -- admission && node scripts/build.mjs && node scripts/fit-packing.mjs
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);
const { fitFfShare } = require(join(ROOT, 'build/src/dse/packing.js'));
const bench = JSON.parse(readFileSync(join(ROOT, 'bench/results/admission.json'), 'utf8'));
const rows = bench.networks;
if (!rows?.length) throw new Error('bench/results/admission.json has no networks: run npm run bench -- admission first');
// The board top's own logic: what the top adds over the accelerator alone, in Yosys's counts (the largest seen).
const top = {
  luts: Math.max(...rows.map((r) => r.yosys.top.luts - r.yosys.accel.luts)),
  ffs: Math.max(...rows.map((r) => r.yosys.top.ffs - r.yosys.accel.ffs)),
};
const samples = rows.map((r) => ({ name: `${r.space}: ${r.network}`, predicted: { luts: r.predicted.luts, ffs: r.predicted.ffs }, packed: r.packedLogicCells }));
const model = {
  ffShare: fitFfShare(samples, top),
  top,
  source: `bench/admission.bench.ts (${bench.toolchain} toolchain): ${rows.length} random networks admitted by the default constraints, one lane per layer, iCEBreaker UART top, packed by nextpnr; ffShare is the upper envelope (no sample under-predicted)`,
  samples,
};
const file = join(ROOT, 'src/dse/calibration/packing.json');
writeFileSync(file + '.tmp', JSON.stringify(model, null, 2) + '\n');
renameSync(file + '.tmp', file);
console.log(`packing model: ffShare ${model.ffShare}, top ${top.luts} LUTs + ${top.ffs} FFs, from ${rows.length} designs -> ${file}`);
