/**
 * The whole flow, stage by stage, on the default spec (the repository's deepmaker.yaml: MNIST ->
 * NSGA-II search -> training with 8-bit fine-tuning -> C -> verify -> DSE -> RTL -> simulation ->
 * Yosys -> nextpnr -> .bin), run cold in a temporary project folder by the same stage functions the
 * Nx executors call (no Nx cache involved). Records each stage's wall time and the figures that
 * matter downstream: accuracy, cycles per inference, logic cells / EBR / DSP, Fmax.
 *
 * This is the long bench: about 40 minutes on an idle 2-core machine, most of it the search and
 * the training. Another spec: DEEPMAKER_BENCH_SPEC=models/model-ternary/deepmaker.yaml.
 * Usage: npm run bench -- flow
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runStage } from '../src/stages/run';
import { STAGES } from '../src/stages/registry';
import { readJson } from '../src/util/fs';
import { consoleLogger } from '../src/util/log';
import { recordBench, timed } from './util';

const SPEC = resolve(process.env.DEEPMAKER_BENCH_SPEC ?? join(__dirname, '..', 'deepmaker.yaml'));
/** The stages of `nx run <project>:bitstream`, in dependency order (hls is not on that path). */
const FLOW = ['spec', 'data', 'nas', 'train', 'convert', 'verify', 'dse', 'rtl', 'sim', 'synth', 'bitstream'];
const r2 = (x: number) => Math.round(x * 100) / 100;

async function main(): Promise<void> {
  const known = new Set(['spec', ...STAGES.map((s) => s.name)]);
  for (const s of FLOW) if (!known.has(s)) throw new Error(`bench/flow: stage ${s} is not registered`);
  const root = mkdtempSync(join(tmpdir(), 'dm-bench-flow-'));
  copyFileSync(SPEC, join(root, 'deepmaker.yaml'));
  const seconds: Record<string, number> = {};
  const load: number[] = [loadavg()[0]];
  try {
    for (const stage of FLOW) {
      const [, s] = await timed(() => runStage(stage, root, root, consoleLogger(stage)));
      seconds[stage] = r2(s);
      load.push(loadavg()[0]);
    }
    const rep = (stage: string) => readJson(join(root, 'dist', stage, 'report.json')) as any;
    const nas = rep('nas'), train = rep('train'), verify = rep('verify'), dse = rep('dse');
    const sim = rep('sim'), synth = rep('synth'), bit = rep('bitstream');
    recordBench('flow', {
      spec: SPEC,
      secondsPerStage: seconds,
      totalSeconds: r2(Object.values(seconds).reduce((a, b) => a + b, 0)),
      nasPlusTrainMinutes: r2((seconds.nas + seconds.train) / 60),
      selected: { description: nas.selected?.description, params: nas.selected?.params, macs: nas.selected?.macs, trainings: nas.trained },
      testAccuracy: { float: train.quantization?.float?.testAccuracy ?? train.testAccuracy, trained: train.testAccuracy, c: verify.fixed?.accuracy ?? verify.float?.accuracy, cEqualsIntegerReference: verify.quantizedReference?.identical },
      trainImagesPerSecond: train.imagesPerSecond,
      dse: { explored: dse.explored, syntheses: dse.syntheses, speedupVsOneLane: dse.speedup?.vsOneLane, predictorError: dse.predictorError?.logicCells },
      sim: { samples: sim.samples, bitExact: sim.bitExact, cyclesPerInference: sim.cycles, predictedCycles: sim.predictedCycles, latencyUs: sim.latencyUs, floorRatio: sim.floorRatio },
      synth: { logicCells: synth.logicCells, ebr: synth.ebr, dsp: synth.dsp, netlistBitExact: `${synth.netlistSim?.bitExact}/${synth.netlistSim?.samples}` },
      bitstream: { fmaxMHz: bit.fmaxMHz, clockMHz: bit.clockMHz, bytes: bit.bytes, logicCells: bit.logicCells },
      loadAverage: { min: r2(Math.min(...load)), max: r2(Math.max(...load)) },
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
