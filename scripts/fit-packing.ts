/**
 * Refits the packing model (src/dse/packing.ts) from the admission bench's measured designs:
 * bench/results/admission.json (the smallest design of each admitted network) and
 * bench/results/admission-fastest.json (the fastest), each row a design synthesized, wrapped in the
 * board top and packed by nextpnr, with the calibrated predictor's LUTs and flip-flops beside it.
 * Writes src/dse/calibration/packing.json (through a temporary sibling and a rename).
 *
 *   npm run bench -- admission && ADMISSION_DESIGN=fastest npm run bench -- admission
 *   npx tsx scripts/fit-packing.ts
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fitPacking, loadPackingModel, type PackingModel, type PackingSample } from '../src/dse/packing';

interface AdmissionRow { space: string; network: string; architecture: string; predicted: { luts: number; ffs: number }; packedLogicCells: number; yosys: { accel: { luts: number; ffs: number }; top: { luts: number; ffs: number } } }

const root = join(__dirname, '..');
const files = ['admission.json', 'admission-fastest.json'].map((f) => join(root, 'bench', 'results', f)).filter((f) => existsSync(f));
if (!files.length) {
  console.error('fit-packing: no bench/results/admission*.json; run `npm run bench -- admission` (and ADMISSION_DESIGN=fastest) first');
  process.exit(1);
}
const samples: PackingSample[] = [];
const sources: string[] = [];
// The board top's own logic: what the top adds over the accelerator alone, in Yosys's counts (the largest seen).
const top = { luts: 0, ffs: 0 };
for (const f of files) {
  const r = JSON.parse(readFileSync(f, 'utf8')) as { design: string; toolchain: string; networks: AdmissionRow[] };
  const kind = f.endsWith('fastest.json') ? 'fastest' : 'smallest';
  for (const n of r.networks) top.luts = Math.max(top.luts, n.yosys.top.luts - n.yosys.accel.luts);
  for (const n of r.networks) top.ffs = Math.max(top.ffs, n.yosys.top.ffs - n.yosys.accel.ffs);
  for (const n of r.networks) if (Number.isFinite(n.packedLogicCells)) samples.push({ name: `${kind} ${n.architecture} ${n.space}: ${n.network}`, predicted: n.predicted, packed: n.packedLogicCells });
  sources.push(`${r.networks.length} ${kind} designs (${r.design}; ${r.toolchain} toolchain)`);
}
const old = loadPackingModel();
const fit = fitPacking(samples, top);
const model: PackingModel = { ...fit, top, source: `bench/admission.bench.ts: ${sources.join('; ')}; ffShare is the median implied share, margin the largest under-prediction`, samples };
const out = join(root, 'src', 'dse', 'calibration', 'packing.json');
writeFileSync(out + '.tmp', JSON.stringify(model, null, 2) + '\n');
renameSync(out + '.tmp', out);
console.log(`packing model: ffShare ${model.ffShare} (was ${old.ffShare}), margin ${model.margin}; on ${samples.length} designs median |error| ${(fit.fit!.medianAbsError * 100).toFixed(1)} %, largest under-prediction ${(fit.fit!.maxUnder * 100).toFixed(1)} %, largest over-prediction ${(fit.fit!.maxOver * 100).toFixed(1)} %`);
