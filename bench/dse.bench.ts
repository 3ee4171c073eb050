/**
 * DSE figures: wall time, points explored and real syntheses used, for
 *  - `mnist-cnn`: a small MNIST CNN that fits the iCE40 UP5K, through the whole dse stage
 *    (search, frontier, predictor check with real Yosys syntheses, Vitis export);
 *  - `lenet5`: LeNet-5 (8-bit), the seed's network, NSGA-II only (its weights need ~100 EBR, more
 *    than any iCE40 has, so the search runs against a budget with room for them), with the speedup
 *    over one lane per layer set beside the seed's 44x.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emitC } from '../src/cgen';
import { CostModel } from '../src/dse/cost-model';
import { choosePoint, paretoFront } from '../src/dse/pareto';
import { DEFAULT_SEARCH, explore } from '../src/dse/search';
import { runDseStage, SEED_LENET5 } from '../src/stages/dse';
import { fixedKnobs, lenet5, SyntheticModel } from '../src/dse/synthetic';
import { getDevice } from '../src/fpga/devices';
import { writeModelIR } from '../src/ir/serialize';
import { canonicalJson } from '../src/util/fs';
import { consoleLogger } from '../src/util/log';
import { recordBench, timed } from './util';

async function main() {
  const knobs = fixedKnobs(8, 3);
  const root = mkdtempSync(join(tmpdir(), 'dm-dse-bench-'));
  try {
    // 1. The whole stage on a CNN that fits the UP5K.
    const ir = new SyntheticModel('mnist_cnn', [28, 28, 1], 'bench').conv2d('conv1', 8, 3).pool('pool1', 'maxpool2d', 2).conv2d('conv2', 16, 3).pool('pool2', 'maxpool2d', 2).flatten().dense('fc', 10).build();
    const convert = join(root, 'dist', 'convert');
    mkdirSync(convert, { recursive: true });
    writeModelIR(convert, ir);
    emitC(convert, ir, { knobs, weightStorage: 'arrays' });
    writeFileSync(join(convert, 'knobs.json'), canonicalJson(knobs));
    const out = join(root, 'dist', 'dse');
    mkdirSync(out, { recursive: true });
    const ctx = { stage: 'dse', projectRoot: root, workspaceRoot: root, spec: { dse: { check: 2, simulate: 1 }, target: { device: 'ice40-up5k' } }, outDir: out, workDir: join(root, 'work'), log: consoleLogger('dse'), inputDir: (s: string) => join(root, 'dist', s) };
    const [, stageSeconds] = await timed(() => runDseStage(ctx as never));
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));

    // 2. LeNet-5, NSGA-II with the default population and generations.
    const big = new CostModel({ ir: lenet5('bench'), knobs, device: getDevice('ice40-up5k') });
    const budget = { logicCells: 20_000, ebr: 200, dsp: 8, spram: 4 };
    const [search, lenetSeconds] = await timed(async () => explore(big, budget, { algorithm: 'nsga2', ...DEFAULT_SEARCH }));
    const best = choosePoint(search.points, 'min-latency');
    const baseline = search.points.find((p) => p.origin === 'baseline')!;

    recordBench('dse', {
      mnistCnnUp5k: {
        model: 'conv 8x3x3, pool, conv 16x3x3, pool, dense 10 on 28x28x1, 8-bit',
        wallSeconds: Math.round(stageSeconds * 10) / 10,
        searchSeconds: report.search.seconds,
        algorithm: report.search.algorithm,
        spacePoints: report.space.points,
        explored: report.explored,
        pareto: report.pareto.length,
        realSyntheses: report.syntheses,
        chosen: { cycles: report.chosen.cycles, logicCells: report.chosen.logicCells, ebr: report.chosen.ebr, dsp: report.chosen.dsp },
        baselineCycles: report.baseline.cycles,
        speedupVsOneLane: report.speedup.vsOneLane,
        predictorError: report.predictorError.logicCells,
        cyclesExact: report.predictorError.cycles?.exact,
      },
      lenet5Nsga2: {
        wallSeconds: Math.round(lenetSeconds * 10) / 10,
        spacePoints: big.space.size,
        explored: search.points.length,
        generations: search.generations,
        pareto: paretoFront(search.points).length,
        realSyntheses: 0,
        baselineCycles: baseline.cost.cycles,
        bestCycles: best.cost.cycles,
        speedupVsOneLane: Math.round((baseline.cost.cycles / best.cost.cycles) * 100) / 100,
        bestLogicCells: best.cost.logicCells,
        budget,
        seed: SEED_LENET5,
      },
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
