/**
 * Hardware back-end figures. RTL + simulation part (this file's `rtlSim`): on TinyMaix's trained
 * MNIST CNN (Keras HDF5: strided convs, BatchNorm folded, depthwise, global average pooling, dense)
 * with 12-bit weights (integer bits fitted) and fixed<8,3> activations, for 1, 4 and 8 lanes:
 *  - rtl stage wall time, predicted cycles per inference, floor (MACs / lanes), DSP/LUT multipliers;
 *  - sim stage on 200 MNIST test images with each simulator available (CXXRTL always; Verilator when
 *    on PATH): wall time (build + run), bit-exact count against the C model, simulated cycles,
 *    latency at 12 MHz, ratio to the floor, simulation speed.
 * The load average is recorded (the machine is shared).
 * First, the built projects' latency, clock, Fmax and multiplier utilization (see `projects`).
 * Usage: npm run bench -- hw
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { runConvertStage } from '../src/stages/convert';
import { runRtlStage } from '../src/stages/rtl';
import { findOnPath } from '../src/fpga/toolchain';
import { runSpecStage, runStage } from '../src/stages/run';
import { readJson, writeDirAtomically } from '../src/util/fs';
import { silentLogger } from '../src/util/log';
import { KERAS_FIXTURES } from '../test/fixtures/location';
import { recordBench, timed } from './util';

const FIXTURE = join(KERAS_FIXTURES, 'tinymaix_mnist_cnn/mnist_dw.h5');
const SAMPLES = 200;
const r3 = (x: number) => Math.round(x * 1000) / 1000;

function yaml(lanes: number, simulator: string): string {
  return `name: hwbench
model: ${FIXTURE}
data:
  dataset: mnist
  limit: { train: 32, test: ${SAMPLES} }
convert:
  format: fixed
  precision:
    weights: { bits: 12 }
    biases: { bits: 16, integer: 6 }
    activations: { bits: 8, integer: 3 }
rtl:
  lanes: ${lanes}
sim:
  samples: ${SAMPLES}
  simulator: ${simulator}
target:
  device: ice40-up5k
  clockMHz: 12
`;
}

async function rtlSim(): Promise<Record<string, unknown>> {
  const root = mkdtempSync(join(tmpdir(), 'dm-hw-bench-'));
  const load = [loadavg()[0]];
  writeFileSync(join(root, 'deepmaker.yaml'), yaml(1, 'cxxrtl'));
  await runSpecStage(root, silentLogger);
  await runStage('data', root, root, silentLogger);
  await writeDirAtomically(join(root, 'dist', 'convert'), (outDir) =>
    runConvertStage({ stage: 'convert', projectRoot: root, workspaceRoot: root, spec: readJson(join(root, 'dist/spec/convert.json')), outDir, inputDir: (s) => join(root, 'dist', s), workDir: join(root, '.deepmaker/convert'), log: silentLogger }),
  );
  const simulators = ['cxxrtl', ...(findOnPath('verilator') ? ['verilator'] : [])];
  const runs: Record<string, unknown>[] = [];
  for (const lanes of [1, 4, 8]) {
    for (const simulator of simulators) {
      writeFileSync(join(root, 'deepmaker.yaml'), yaml(lanes, simulator));
      await runSpecStage(root, silentLogger);
      // The rtl stage function directly: this bench sets lanes itself, without a dse run.
      const [, rtlSeconds] = await timed(() =>
        writeDirAtomically(join(root, 'dist', 'rtl'), (outDir) =>
          runRtlStage({ stage: 'rtl', projectRoot: root, workspaceRoot: root, spec: readJson(join(root, 'dist/spec/rtl.json')), outDir, inputDir: (s) => join(root, 'dist', s), workDir: join(root, '.deepmaker/rtl'), log: silentLogger }),
        ),
      );
      const [, simSeconds] = await timed(() => runStage('sim', root, root, silentLogger));
      const rtl = readJson<any>(join(root, 'dist/rtl/report.json'));
      const sim = readJson<any>(join(root, 'dist/sim/report.json'));
      load.push(loadavg()[0]);
      runs.push({
        lanes,
        simulator: sim.simulator.name,
        rtlSeconds: r3(rtlSeconds),
        simSeconds: r3(simSeconds),
        simBuildSeconds: r3(sim.simulationSeconds.build),
        simRunSeconds: r3(sim.simulationSeconds.run),
        simulatedMcyclesPerSecond: sim.simulatedMcyclesPerSecond === null ? null : r3(sim.simulatedMcyclesPerSecond),
        samples: sim.samples,
        bitExact: sim.bitExact,
        cyclesPerInference: sim.cycles,
        predictedCycles: rtl.predictedCycles,
        latencyUsAt12MHz: r3(sim.cycles / 12),
        macsPerCycle: r3(sim.macsPerCycle),
        multiplierUtilization: r3(sim.multiplierUtilization),
        floorCycles: rtl.floorCycles,
        floorRatio: r3(sim.floorRatio),
        totalLanes: rtl.parallelism.lanes,
        dspMultipliers: rtl.parallelism.dspMultipliers,
        lutMultipliers: rtl.parallelism.lutMultipliers,
        activationMemories: rtl.memories.activations.map((m: any) => `${m.kind} ${m.banks}x${m.depth}x${m.width}`),
        accuracy: sim.accuracy,
      });
      console.log(JSON.stringify(runs[runs.length - 1]));
    }
  }
  rmSync(root, { recursive: true, force: true });
  return { model: 'tinymaix_mnist_cnn/mnist_dw.h5 (12-bit weights with fitted integer bits, activations fixed<8,3>), ice40-up5k', samples: SAMPLES, runs, loadAverage: load.map(r3) };
}

/**
 * Synthesis and bitstream part (src/fpga): the same model for 1 and 4 lanes, UP5K on the iCEBreaker,
 * with the toolchain `auto` picks (and YoWASP as well when native tools are installed): stage wall
 * times, Yosys / pack / place-and-route / netlist-simulation seconds, LUTs, flip-flops, packed logic
 * cells, EBR, DSP, Fmax and .bin size. A point that does not fit or misses timing is recorded with
 * the stage's message.
 */
async function synthBitstream(): Promise<Record<string, unknown>> {
  const root = mkdtempSync(join(tmpdir(), 'dm-hw-bench-fpga-'));
  const load = [loadavg()[0]];
  const NETLIST = 100;
  const withTarget = (lanes: number, toolchain: string) =>
    yaml(lanes, 'cxxrtl').replace(`  samples: ${SAMPLES}`, `  samples: ${NETLIST}\n  netlistSamples: ${NETLIST}`).replace('  clockMHz: 12\n', `  clockMHz: 12\n  board: icebreaker\n  toolchain: ${toolchain}\n`);
  writeFileSync(join(root, 'deepmaker.yaml'), withTarget(1, 'auto'));
  await runSpecStage(root, silentLogger);
  await runStage('data', root, root, silentLogger);
  await writeDirAtomically(join(root, 'dist', 'convert'), (outDir) =>
    runConvertStage({ stage: 'convert', projectRoot: root, workspaceRoot: root, spec: readJson(join(root, 'dist/spec/convert.json')), outDir, inputDir: (s) => join(root, 'dist', s), workDir: join(root, '.deepmaker/convert'), log: silentLogger }),
  );
  const toolchains = ['auto', ...(findOnPath('yosys') && findOnPath('nextpnr-ice40') && findOnPath('icepack') ? ['yowasp'] : [])];
  const runs: Record<string, unknown>[] = [];
  for (const lanes of [1, 4]) {
    for (const toolchain of toolchains) {
      writeFileSync(join(root, 'deepmaker.yaml'), withTarget(lanes, toolchain));
      await runSpecStage(root, silentLogger);
      await writeDirAtomically(join(root, 'dist', 'rtl'), (outDir) =>
        runRtlStage({ stage: 'rtl', projectRoot: root, workspaceRoot: root, spec: readJson(join(root, 'dist/spec/rtl.json')), outDir, inputDir: (s) => join(root, 'dist', s), workDir: join(root, '.deepmaker/rtl'), log: silentLogger }),
      );
      await runStage('sim', root, root, silentLogger);
      const run: Record<string, unknown> = { lanes, toolchain };
      try {
        const [, synthSeconds] = await timed(() => runStage('synth', root, root, silentLogger));
        const synth = readJson<any>(join(root, 'dist/synth/report.json'));
        Object.assign(run, {
          tool: synth.tool,
          yosys: synth.version,
          synthStageSeconds: r3(synthSeconds),
          yosysSeconds: synth.seconds.synth,
          packSeconds: synth.seconds.pack,
          netlistSimSeconds: synth.seconds.netlistSim,
          netlistSim: `${synth.netlistSim.bitExact}/${synth.netlistSim.samples} bit-exact`,
          netlistCyclesPerInference: synth.netlistSim.cycles,
          luts: synth.luts,
          ffs: synth.ffs,
          logicCells: synth.logicCells,
          ebr: synth.ebr,
          dsp: synth.dsp,
          spram: synth.spram,
        });
        const [, bitSeconds] = await timed(() => runStage('bitstream', root, root, silentLogger));
        const bit = readJson<any>(join(root, 'dist/bitstream/report.json'));
        Object.assign(run, { bitstreamStageSeconds: r3(bitSeconds), placeAndRouteSeconds: bit.seconds.placeAndRoute, icepackSeconds: bit.seconds.pack, fmaxMHz: bit.fmaxMHz, clockMHz: bit.clockMHz, bytes: bit.bytes, nextpnr: bit.versions['nextpnr-ice40'] });
      } catch (e) {
        run.error = (e as Error).message.split('\n')[0];
      }
      load.push(loadavg()[0]);
      runs.push(run);
      console.log(JSON.stringify(run));
    }
  }
  rmSync(root, { recursive: true, force: true });
  return { model: 'tinymaix_mnist_cnn/mnist_dw.h5 (12-bit weights with fitted integer bits, activations fixed<8,3>), ice40-up5k sg48 on the iCEBreaker', netlistSamples: NETLIST, runs, loadAverage: load.map(r3) };
}

/**
 * The built projects' own figures, where `nx run <project>:bitstream` has left them: the default
 * model (the workspace root) and the ternary projects under models/, beside the seed's LeNet-5
 * (0.55 ms on a large Xilinx part) and this product's first hardware (7.84 ms: 94,101 cycles at 12 MHz).
 */
function projects(): Record<string, unknown> {
  const root = resolve(__dirname, '..');
  const dirs = [root, ...readdirSync(join(root, 'models')).map((m) => join(root, 'models', m))];
  const out: Record<string, unknown>[] = [];
  for (const dir of dirs) {
    const report = (stage: string) => {
      const f = join(dir, 'dist', stage, 'report.json');
      return existsSync(f) ? readJson<any>(f) : undefined;
    };
    const bit = report('bitstream');
    const sim = report('sim');
    if (!bit || !sim) continue;
    const verify = report('verify');
    out.push({
      project: dir === root ? 'model (default)' : `models/${basename(dir)}`,
      latencyUs: bit.latencyUs ?? r3(sim.cycles / bit.clockMHz),
      clockMHz: bit.clockMHz,
      fmaxMHz: bit.fmaxMHz,
      cycles: sim.cycles,
      macs: sim.macs,
      lanes: sim.lanes,
      macsPerCycle: sim.macsPerCycle === undefined ? r3(sim.macs / sim.cycles) : r3(sim.macsPerCycle),
      multiplierUtilization: sim.multiplierUtilization === undefined ? r3(sim.macs / (sim.cycles * sim.lanes)) : r3(sim.multiplierUtilization),
      logicCells: bit.logicCells,
      ebr: bit.ebr,
      dsp: bit.dsp,
      bitExact: `${sim.bitExact}/${sim.samples}`,
      accuracy: verify?.fixed?.accuracy,
    });
  }
  return { reference: { seedLeNet5Us: 550, firstHardwareDefaultUs: 7840 }, projects: out };
}

(async () => {
  recordBench('hw-projects', projects());
  recordBench('hw-rtl-sim', await rtlSim());
  recordBench('hw-synth-bitstream', await synthBitstream());
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
