/**
 * Vendor export: the convert stage's C with Vitis HLS directives for a chosen directive set.
 *
 * Each partition of the DSE is one C function dm_<loop nest id> whose loops carry labels
 * <id>_<var> (src/cgen/layers.ts, active with -DDM_HLS_LABELS). The directive set maps onto them:
 *
 *   RTL directive                    Vitis HLS directive (in dm_<id>)
 *   lanes L, unroll outputs          UNROLL factor=L on the output-channel loop (conv co, dense o,
 *                                    depthwise c); ARRAY_PARTITION cyclic factor=L of the weights
 *                                    (Keras order: output channel fastest, so L neighbouring
 *                                    channels fall in L banks) and of `out`
 *   lanes L, unroll reduction        UNROLL factor=L on the input-channel loop (conv ci, dense i);
 *                                    ARRAY_PARTITION cyclic factor=L of `in` (channel fastest) and
 *                                    cyclic factor=F of the weights, F the smallest factor that puts
 *                                    L reads at stride C_out in L different banks
 *   depthwise lanes L                UNROLL factor=L on the channel loop; `in`, weights and `out`
 *                                    cyclic factor=L
 *   pipeline true / false            PIPELINE II=1 / PIPELINE off on the innermost (reduction) loop
 *   weights partition block          no flat-array equivalent (the RTL's channel blocks are not
 *                                    contiguous in the Keras-order array): exported as cyclic with
 *                                    the same number of banks, and said so in a comment
 *   multiplier lut                   BIND_OP op=mul impl=fabric on the function
 *
 * The pragmas are written into model.c (after the loop header; a loop whose body is one statement
 * gets braces) and the same directives into directives.tcl; run_hls.tcl builds the project with
 * dm_infer as the top. Pragmas are ignored by a host compiler, so the exported C computes exactly
 * what the convert C computes (test/dse checks it).
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAC_LAYERS } from '../rtl/directives';
import { DeepMakerError } from '../util/errors';
import type { DsePartition, PartitionChoice } from './space';

export interface HlsPartition {
  partition: DsePartition;
  choice: PartitionChoice;
}

export interface HlsDirective {
  kind: 'unroll' | 'pipeline' | 'array_partition' | 'bind_op' | 'interface';
  /** Function the directive is in (dm_<id>, or dm_infer). */
  fn: string;
  /** Loop label (unroll, pipeline) or variable (array_partition, interface). */
  target?: string;
  /** The pragma line for the C source. */
  pragma: string;
  /** The Tcl command for directives.tcl. */
  tcl: string;
  note?: string;
}

/** Loop variables of the generated C (src/cgen/layers.ts) by layer type: the output-channel loop and the innermost reduction loop. */
function loopVars(p: DsePartition): { outputs?: string; reduction?: string } {
  switch (p.type) {
    case 'dense':
      return { outputs: 'o', reduction: 'i' };
    case 'conv1d':
    case 'conv2d':
      return { outputs: 'co', reduction: 'ci' };
    case 'depthwise_conv2d':
      return { outputs: 'c', reduction: 'kx' };
    default:
      return {};
  }
}

/** Smallest cyclic factor F ≥ lanes so that indices 0, s, 2s, ... (lanes of them) fall in distinct banks mod F. */
export function strideFactor(lanes: number, stride: number, size: number): number {
  for (let f = lanes; f <= size; f++) {
    const banks = new Set<number>();
    for (let l = 0; l < lanes; l++) banks.add((l * stride) % f);
    if (banks.size === lanes) return f;
  }
  return size;
}

function partitionDirective(fn: string, variable: string, factor: number, note?: string): HlsDirective {
  return {
    kind: 'array_partition', fn, target: variable,
    pragma: `#pragma HLS ARRAY_PARTITION variable=${variable} type=cyclic factor=${factor} dim=1`,
    tcl: `set_directive_array_partition -type cyclic -factor ${factor} -dim 1 "${fn}" ${variable}`,
    note,
  };
}

/** The HLS directives of one partition. */
export function partitionDirectives(h: HlsPartition): HlsDirective[] {
  const { partition: p, choice: c } = h;
  if (!p.loopNest) return [];
  const id = p.loopNest;
  const fn = `dm_${id}`;
  const out: HlsDirective[] = [];
  const vars = loopVars(p);
  if (!MAC_LAYERS.has(p.type)) return out;
  const weights = `dm_wq_${id}`;
  const L = c.lanes;
  if (L > 1) {
    const depthwise = p.type === 'depthwise_conv2d';
    const weightCount = p.trips.outputs * p.trips.reduction;
    const unroll = (loop: string, factor: number): HlsDirective => ({ kind: 'unroll', fn, target: `${id}_${loop}`, pragma: `#pragma HLS UNROLL factor=${factor}`, tcl: `set_directive_unroll -factor ${factor} "${fn}/${id}_${loop}"` });
    if (c.unroll === 'window' && !depthwise) {
      // The model input's reader: lanes / R output channels, each over a whole kernel row (kx and ci
      // unrolled in full); the R = kw·C inputs a row reads are neighbours in `in`, so R cyclic banks.
      const R = c.inputBanks!;
      const kw = R / (p.trips.reduction / p.trips.kernel);
      out.push(unroll(vars.outputs!, L / R), unroll('kx', kw), unroll(vars.reduction!, R / kw));
      out.push(partitionDirective(fn, weights, L, `${L / R} output channels x a ${R}-tap kernel row read per cycle`));
      out.push(partitionDirective(fn, 'in', R));
      out.push(partitionDirective(fn, 'out', L / R));
    } else if (c.unroll === 'both' && !depthwise) {
      // lanes / R output channels, each over R input channels: two unrolls, weights and input banked to match.
      const R = c.inputBanks ?? 2;
      out.push(unroll(vars.outputs!, L / R), unroll(vars.reduction!, R));
      out.push(partitionDirective(fn, weights, L, `${L / R} output channels x ${R} input channels read per cycle`));
      out.push(partitionDirective(fn, 'in', R));
      out.push(partitionDirective(fn, 'out', L / R));
    } else if (c.unroll === 'reduction' && !depthwise) {
      out.push(unroll(vars.reduction!, L));
      const f = strideFactor(L, p.trips.outputs, weightCount);
      out.push(partitionDirective(fn, weights, f, `${L} lanes read input channels ci..ci+${L - 1}: weights ${p.trips.outputs} apart`));
      out.push(partitionDirective(fn, 'in', L));
    } else {
      out.push(unroll(vars.outputs!, L));
      const note = c.partition === 'block' ? `the RTL banks channels in ${L} blocks; a flat Keras-order array has no such partition, so ${L} cyclic banks (the same ports)` : undefined;
      out.push(partitionDirective(fn, weights, L, note));
      if (depthwise) out.push(partitionDirective(fn, 'in', L));
      out.push(partitionDirective(fn, 'out', L));
    }
  }
  if (vars.reduction) {
    // unroll window unrolls the kernel row: the loop over kernel rows is the pipelined one.
    const label = `${id}_${c.unroll === 'window' && c.lanes > 1 ? 'ky' : vars.reduction}`;
    out.push(
      c.pipeline
        ? { kind: 'pipeline', fn, target: label, pragma: '#pragma HLS PIPELINE II=1', tcl: `set_directive_pipeline -II 1 "${fn}/${label}"` }
        : { kind: 'pipeline', fn, target: label, pragma: '#pragma HLS PIPELINE off', tcl: `set_directive_pipeline -off "${fn}/${label}"` },
    );
  }
  if (c.multiplier === 'lut') out.push({ kind: 'bind_op', fn, pragma: '#pragma HLS BIND_OP variable=acc op=mul impl=fabric', tcl: `set_directive_bind_op -op mul -impl fabric "${fn}" acc` });
  return out;
}

/**
 * Writes the pragmas into the C text. Array and BIND_OP pragmas go first in the function body;
 * loop pragmas right after the loop's header.
 */
export function insertPragmas(c: string, directives: HlsDirective[]): { text: string; missing: HlsDirective[] } {
  const lines = c.split('\n');
  const missing: HlsDirective[] = [];
  const indentOf = (s: string) => /^\s*/.exec(s)![0];
  // Function-scope pragmas.
  const byFn = new Map<string, HlsDirective[]>();
  for (const d of directives) if (d.kind === 'array_partition' || d.kind === 'bind_op' || d.kind === 'interface') byFn.set(d.fn, [...(byFn.get(d.fn) ?? []), d]);
  for (const [fn, ds] of byFn) {
    const at = lines.findIndex((l) => new RegExp(`^(static\\s+)?void\\s+${fn}\\s*\\(`).test(l));
    if (at < 0 || lines[at + 1]?.trim() !== '{') {
      missing.push(...ds);
      continue;
    }
    lines.splice(at + 2, 0, ...ds.map((d) => `    ${d.pragma}${d.note ? ` /* ${d.note} */` : ''}`));
  }
  // Loop pragmas, in the order given, right after the loop header.
  const byLoop = new Map<string, HlsDirective[]>();
  for (const d of directives) if (d.kind === 'unroll' || d.kind === 'pipeline') byLoop.set(d.target!, [...(byLoop.get(d.target!) ?? []), d]);
  for (const [target, ds] of byLoop) {
    const at = lines.findIndex((l) => l.includes(`DM_LOOP(${target})`));
    if (at < 0) {
      missing.push(...ds);
      continue;
    }
    const header = lines[at];
    const ind = indentOf(header) + '    ';
    const pragmas = ds.map((d) => `${ind}${d.pragma}`);
    if (header.trimEnd().endsWith('{')) {
      lines.splice(at + 1, 0, ...pragmas);
      continue;
    }
    // A one-statement body: give it braces so the pragmas sit inside the loop.
    const body = lines[at + 1];
    if (body === undefined || body.trim().startsWith('#') || !body.trimEnd().endsWith(';')) {
      missing.push(...ds);
      continue;
    }
    lines.splice(at, 2, `${header.trimEnd()} {`, ...pragmas, body, `${indentOf(header)}}`);
  }
  return { text: lines.join('\n'), missing };
}

export interface HlsExportOptions {
  /** The convert stage's output folder (model.c, model.h, weights.*, harness.c). */
  convertDir: string;
  outDir: string;
  model: string;
  partitions: HlsPartition[];
  /** Xilinx part for Vitis HLS (iCE40 is not a Vitis target). */
  part: string;
  /** Inputs and outputs of dm_infer (interface depths). */
  inputSize: number;
  outputSize: number;
  /** A line for the file headers (which DSE point this is). */
  provenance: string;
}

export interface HlsExport {
  files: string[];
  directives: HlsDirective[];
  /** Directives that could only go to directives.tcl (no place for the pragma in the C). */
  tclOnly: HlsDirective[];
}

function copyTree(from: string, to: string, skip: (name: string) => boolean, out: string[], rel = ''): void {
  for (const name of readdirSync(from)) {
    if (skip(name)) continue;
    const src = join(from, name);
    const dst = join(to, name);
    if (statSync(src).isDirectory()) {
      mkdirSync(dst, { recursive: true });
      copyTree(src, dst, () => false, out, `${rel}${name}/`);
    } else {
      copyFileSync(src, dst);
      out.push(`${rel}${name}`);
    }
  }
}

export function exportHls(o: HlsExportOptions): HlsExport {
  const modelC = join(o.convertDir, 'model.c');
  if (!existsSync(modelC)) throw new DeepMakerError('model.c is missing from the convert output', { file: modelC }, 'run the convert stage (convert.format: fixed) first');
  mkdirSync(o.outDir, { recursive: true });
  const files: string[] = [];
  // Everything convert wrote that the C build needs (report and IR tables stay behind).
  copyTree(o.convertDir, o.outDir, (n) => n === 'model.c' || n.endsWith('.json') || n.endsWith('.svg') || n === 'harness' || n === 'verify', files);
  const directives = o.partitions.flatMap(partitionDirectives);
  const iface: HlsDirective[] = [
    { kind: 'interface', fn: 'dm_infer', target: 'input', pragma: `#pragma HLS INTERFACE mode=ap_memory port=input depth=${o.inputSize}`, tcl: `set_directive_interface -mode ap_memory -depth ${o.inputSize} "dm_infer" input` },
    { kind: 'interface', fn: 'dm_infer', target: 'output', pragma: `#pragma HLS INTERFACE mode=ap_memory port=output depth=${o.outputSize}`, tcl: `set_directive_interface -mode ap_memory -depth ${o.outputSize} "dm_infer" output` },
  ];
  const all = [...directives, ...iface];
  const { text, missing } = insertPragmas(readFileSync(modelC, 'utf8'), all);
  const header = `/* Vitis HLS export by deepmaker dse: ${o.provenance}. Pragmas are ignored by host compilers (-Wno-unknown-pragmas). */\n`;
  writeFileSync(join(o.outDir, 'model.c'), header + text);
  files.push('model.c');
  const tcl = [
    `# directives.tcl: Vitis HLS directives for model '${o.model}' (${o.provenance}).`,
    '# The same directives are written as pragmas in model.c; run_hls.tcl sources this file (directives override equal pragmas).',
    ...all.map((d) => (d.note ? `# ${d.note}\n${d.tcl}` : d.tcl)),
    '',
  ].join('\n');
  writeFileSync(join(o.outDir, 'directives.tcl'), tcl);
  const sources = ['model.c', ...(existsSync(join(o.outDir, 'weights.c')) ? ['weights.c'] : [])];
  const run = [
    `# run_hls.tcl: vitis_hls -f run_hls.tcl  (model '${o.model}', ${o.provenance})`,
    '# The part defaults to a Zynq-7020 (set DM_HLS_PART to change it): Vitis HLS targets Xilinx parts, not the iCE40 the rtl stage builds for.',
    `set part [expr {[info exists ::env(DM_HLS_PART)] ? $::env(DM_HLS_PART) : "${o.part}"}]`,
    '# Clock period in ns (DM_HLS_PERIOD_NS; default 10 ns, a usual target for that part).',
    'set period [expr {[info exists ::env(DM_HLS_PERIOD_NS)] ? $::env(DM_HLS_PERIOD_NS) : 10}]',
    'open_project -reset deepmaker_hls',
    'set_top dm_infer',
    ...sources.map((s) => `add_files ${s} -cflags "-DDM_HLS_LABELS -I."`),
    'add_files -tb harness.c -cflags "-I."',
    'open_solution -reset solution1 -flow_target vivado',
    'set_part $part',
    'create_clock -period $period -name default',
    'source directives.tcl',
    'csynth_design',
    'exit',
    '',
  ].join('\n');
  writeFileSync(join(o.outDir, 'run_hls.tcl'), run);
  files.push('directives.tcl', 'run_hls.tcl');
  return { files: files.sort(), directives: all, tclOnly: missing };
}
