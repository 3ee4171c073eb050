/**
 * The sim stage: the generated RTL (dist/rtl) simulated on the first `sim.samples` test samples
 * (dist/data) through the file-to-memory testbench, every output compared bit for bit with the C
 * fixed-point model (dist/convert, compiled and run with `-r`).
 *
 * dist/sim:
 *   report.json     samples, bitExact, cycles, predictedCycles, macsPerCycle, multiplierUtilization, floorRatio, simulator, ...
 *   vectors.bin     the input bytes of the simulated samples (stream order), and
 *   vectors.json    their C-model logits and classes: the synth stage replays the first
 *                   `netlistSamples` of them on the synthesized netlist
 *   mismatches.jsonl  one line per sample whose RTL outputs differ from the C model (none when accepted)
 *
 * The RTL is accepted only when every sample is bit-exact; otherwise the stage fails after writing
 * the mismatch traces to .deepmaker/sim/mismatches.jsonl.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NumberKnobs } from '../qmodel/precision';
import { readSplit } from '../data/tensors';
import { readModelIR } from '../ir/serialize';
import { quantize } from '../numerics/fixed';
import type { StageContext } from './context';
import { encodeInputBytes, type StreamInterface } from '../rtl/interface';
import { lowerModelForRtl } from '../rtl/lower';
import { DeepMakerError } from '../util/errors';
import { canonicalJson, readJson } from '../util/fs';
import { buildCModel, runCModelRaw } from '../sim/c-model';
import { argmax, runReference } from '../sim/reference';
import { simulate, type SimulatorChoice } from '../sim/simulate';

export interface SimView {
  sim: { samples?: number; netlistSamples?: number; simulator?: SimulatorChoice };
}

interface RtlReport {
  predictedCycles: number;
  floorCycles: number;
  macs: number;
  parallelism: { lanes: number };
}

export async function runSimStage(ctx: StageContext<SimView>): Promise<void> {
  const rtlDir = ctx.inputDir('rtl');
  const convDir = ctx.inputDir('convert');
  const iface = readJson<StreamInterface>(join(rtlDir, 'interface.json'));
  const rtl = readJson<RtlReport>(join(rtlDir, 'report.json'));
  const knobs = readJson<NumberKnobs>(join(convDir, 'knobs.json'));
  const test = readSplit(ctx.inputDir('data'), 'test');
  const width = test.shape.reduce((a, b) => a * b, 1);
  if (width !== iface.inputElements) {
    throw new DeepMakerError(`the test samples have ${width} values but the accelerator takes ${iface.inputElements}`, { file: join(ctx.inputDir('data'), 'test_x.npy') }, 'the model was not made for this dataset');
  }
  const n = Math.min(ctx.spec.sim.samples ?? 1000, test.count);
  const x = test.x.subarray(0, n * width);

  // Inputs as the stream carries them: each element quantized to the input format (as the C model's input layer does).
  const samples: Uint8Array[] = [];
  const qInputs: Int32Array[] = [];
  for (let s = 0; s < n; s++) {
    const q = Int32Array.from(x.subarray(s * width, (s + 1) * width), (v) => quantize(v, iface.inputFormat));
    qInputs.push(q);
    samples.push(encodeInputBytes(q, iface.inputFormat));
  }

  ctx.log.info(`C model: compiling dist/convert and running ${n} samples`);
  const exe = await buildCModel(convDir, knobs, ctx.workDir);
  const expected = await runCModelRaw(exe, x, n, width, iface.outputs);

  const sources = readdirSync(rtlDir).filter((f) => f.endsWith('.v') && !f.startsWith('tb_')).map((f) => join(rtlDir, f));
  const dataFiles = readdirSync(rtlDir).filter((f) => f.endsWith('.hex')).map((f) => join(rtlDir, f));
  ctx.log.info(`RTL: simulating ${n} samples (${sources.length} Verilog file(s), ${dataFiles.length} ROM images)`);
  const sim = await simulate({
    sources,
    dataFiles,
    top: iface.top,
    inputBytes: iface.inputBytes,
    outputs: iface.outputs,
    outBits: iface.outBits,
    samples,
    simulator: ctx.spec.sim.simulator ?? 'auto',
    workDir: join(ctx.workDir, 'build'),
    maxCyclesPerSample: rtl.predictedCycles * 2 + iface.inputBytes * 4 + 10_000,
    log: ctx.log,
  });

  // Bit-exact comparison with the C model; traces of every mismatch.
  const mismatches: string[] = [];
  let bitExact = 0;
  let correct = 0;
  let reference: ReturnType<typeof lowerModelForRtl> | undefined;
  for (let s = 0; s < n; s++) {
    const same = sim.logits[s].length === expected[s].length && sim.logits[s].every((v, i) => v === expected[s][i]) && sim.classes[s] === argmax(expected[s]);
    if (same) bitExact++;
    else {
      reference ??= lowerModelForRtl(readModelIR(convDir), knobs);
      const ref = runReference(reference, qInputs[s]);
      mismatches.push(
        JSON.stringify({
          sample: s,
          rtl: { logits: Array.from(sim.logits[s]), class: sim.classes[s] },
          c: { logits: Array.from(expected[s]), class: argmax(expected[s]) },
          tsReference: { logits: Array.from(ref.output), class: ref.cls },
          differing: Array.from(sim.logits[s]).flatMap((v, i) => (v !== expected[s][i] ? [i] : [])),
        }),
      );
    }
    if (sim.classes[s] === test.y[s]) correct++;
  }

  const cycles = Math.max(...sim.cycles);
  const lanes = rtl.parallelism.lanes;
  const netlistSamples = Math.min(ctx.spec.sim.netlistSamples ?? 100, n);
  writeFileSync(join(ctx.outDir, 'vectors.bin'), Buffer.concat(samples.map((b) => Buffer.from(b))));
  writeFileSync(
    join(ctx.outDir, 'vectors.json'),
    canonicalJson({
      file: 'vectors.bin',
      samples: n,
      netlistSamples,
      inputBytes: iface.inputBytes,
      outputs: iface.outputs,
      outBits: iface.outBits,
      logits: expected.map((e) => Array.from(e)),
      classes: expected.map((e) => argmax(e)),
      labels: Array.from(test.y.subarray(0, n)),
    }),
  );
  writeFileSync(join(ctx.outDir, 'mismatches.jsonl'), mismatches.map((m) => m + '\n').join(''));
  const report = {
    samples: n,
    bitExact,
    reference: 'C fixed-point model (dist/convert, harness -r)',
    cycles,
    cyclesPerSampleConstant: sim.cycles.every((c) => c === cycles),
    predictedCycles: rtl.predictedCycles,
    macs: rtl.macs,
    lanes,
    macsPerCycle: rtl.macs / cycles,
    // The share of multiplier-lane cycles that do a MAC (1 = every lane busy every cycle).
    multiplierUtilization: lanes > 0 ? rtl.macs / (cycles * lanes) : 0,
    floorCycles: rtl.floorCycles,
    floorRatio: cycles / rtl.floorCycles,
    accuracy: correct / n,
    simulator: sim.simulator,
    simulationSeconds: { build: sim.buildSeconds, run: sim.runSeconds, buildCached: sim.cached, processes: sim.jobs },
    simulatedMcyclesPerSecond: sim.runSeconds > 0 ? sim.totalCycles / sim.runSeconds / 1e6 : null,
    files: ['report.json', 'vectors.bin', 'vectors.json', 'mismatches.jsonl'],
  };
  writeFileSync(join(ctx.outDir, 'report.json'), canonicalJson(report));
  ctx.log.info(
    `${bitExact}/${n} samples bit-exact with the C model; ${cycles} cycles per inference (predicted ${rtl.predictedCycles}), ` +
      `${report.macsPerCycle.toFixed(2)} MACs per cycle on ${lanes} multiplier lanes (utilization ${(report.multiplierUtilization * 100).toFixed(1)} %), ` +
      `${report.floorRatio.toFixed(2)}x the floor of ${rtl.floorCycles} cycles (${rtl.macs} MACs / lanes); ${sim.simulator.name}`,
  );
  if (bitExact < n) {
    const file = join(ctx.workDir, 'mismatches.jsonl');
    writeFileSync(file, mismatches.map((m) => m + '\n').join(''));
    throw new DeepMakerError(`${n - bitExact} of ${n} samples differ between the RTL and the C fixed-point model`, { file }, 'the traces name the samples and the differing outputs; the RTL is accepted only when bit-exact');
  }
  if (cycles !== rtl.predictedCycles) ctx.log.warn(`simulated ${cycles} cycles per inference, the cycle model predicted ${rtl.predictedCycles}`);
}
