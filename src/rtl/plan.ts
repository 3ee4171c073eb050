/**
 * Engine plans: how each op of the lowered model runs in hardware. One plan = one generated engine
 * module: a loop nest of counters (outer "group" levels, inner "reduction" levels), affine address
 * registers, `lanes` parallel products, an accumulator per output of a group, and a writer that
 * requantizes the group's outputs one per cycle into the output buffer.
 *
 * The RTL emitter (src/rtl/engines.ts) and the cycle model (src/rtl/cycles.ts) both read these plans,
 * so the predicted cycle count describes exactly the hardware that is generated.
 */
import { fracBits } from '../numerics/fixed';
import type { ResolvedDirective } from './directives';
import { DeepMakerError } from '../util/errors';
import type { TensorLayout } from './concat';
import type { QElementwise, QMac, QModel, QOp, QPool, QRecurrent } from '../qmodel/lower';
import { opMacs } from '../qmodel/lower';
import { RECURRENT_MAX_BITS, recurrentSchedule, recurrentWeightBanks, type RecurrentSchedule } from './recurrent-plan';
import { clog2, ident } from './verilog';
import { isFused, type FusedMac } from './fuse-pool';

export interface Level {
  name: string;
  count: number;
}

/** value = base + Σ counter[level] · strides[level] (levels by name; absent = 0). */
export interface Affine {
  base: number;
  strides: Record<string, number>;
}

export interface ReadPort {
  tensor: string;
  /** broadcast: one element per cycle (element address). lanes: one word from each of `lanes` banks (bank address). */
  mode: 'broadcast' | 'lanes';
  addr: Affine;
  /** For add/concat: which input of the op. */
  input: number;
}

export interface PadCheck {
  iy: Affine;
  /** Absent when no column is checked (unroll window: the loader's words hold the column padding). */
  ix?: Affine;
  checkTop: boolean;
  checkBottom: boolean;
  checkLeft: boolean;
  checkRight: boolean;
  ih: number;
  iw: number;
}

export type EngineKind = 'mac' | 'pool' | 'copy' | 'add' | 'pad' | 'recurrent';

export interface EnginePlan {
  /** Verilog module name. */
  module: string;
  kind: EngineKind;
  op: QOp;
  /** For concatenate: which input this engine copies (one engine per input). */
  part?: number;
  directive: ResolvedDirective;
  /** Outer levels then reduction levels (outer first); levels of count 1 are left out. */
  levels: Level[];
  /** How many of the innermost levels form the reduction (accumulated into one output group). */
  nRed: number;
  /** Reduction steps per group (product of reduction counts; 1 without reduction). */
  K: number;
  /** Groups (product of outer counts). */
  NG: number;
  lanes: number;
  /** Accumulators = outputs produced per group. */
  accs: number;
  /** Cycles from a group's last issue to the cycle its accumulators are complete. */
  D: number;
  /** Writer cycles per group upper bound, for the stall rule of pipelined engines. */
  wmax: number;
  /** Outputs written by the last group. */
  lvLast: number;
  /** Outputs written in all. */
  writes: number;
  pipeline: boolean;
  reads: ReadPort[];
  pad?: PadCheck;
  /** Output element address of a group's first output. */
  outAddr: Affine;
  /** Output channel of a group's first output (bias / scale index). */
  coIndex?: Affine;
  /** Address / channel step from one output of a group to the next. */
  laneStep: number;
  /** Number of output channels (writer stops when the next channel would reach it). */
  coCount: number;
  /** Weight ROM address (all banks read the same address). */
  weightAddr?: Affine;
  /** Weight words per bank, in ROM order. */
  weightBanks?: Int32Array[];
  /** avg pool: the divisor handling. */
  avg?: { kind: 'shift'; shift: number } | { kind: 'divide'; window: number; numShift: number; denShift: number };
  /** Extra writer latency (cycles) beyond the common 3 stages: the average pool's divider, the MAC engines' output register. */
  writerExtra: number;
  /**
   * A max pool fused into this MAC engine (src/rtl/fuse-pool.ts): the names of the window levels (the
   * innermost outer levels; count-1 levels left out). The writer keeps a running maximum per output of
   * a group; the first window position loads it, the last writes it.
   */
  pool?: { layer: string; levels: string[] };
  /** A recurrent engine's phases (src/rtl/recurrent.ts): its own timing, not the generic loop nest's. */
  recurrent?: RecurrentSchedule;
  /** unroll window: the layout the loader writes the model input in (and the flush cycles it costs). */
  window?: WindowLayout;
}

/** Pipeline depth of a group: issue -> accumulators complete. */
export const D_MAC = 3;
export const D_MAC_TREE = 4;
export const D_STREAM = 2;

function prod(levels: Level[]): number {
  return levels.reduce((a, l) => a * l.count, 1);
}

function keep(levels: Level[]): Level[] {
  return levels.filter((l) => l.count > 1);
}

/** Where a tensor's elements are: p·P + off + c in its storage's buffer (dense: P = its channels, off = 0). */
export interface Layout {
  P: number;
  off: number;
}

/**
 * Plans for `ops` (default: all of q's). `layouts` (src/rtl/concat.ts) places tensors inside other
 * tensors' buffers; a tensor without one is dense in its own buffer.
 */
export function buildPlans(q: QModel, directives: Map<string, ResolvedDirective>, layouts: Map<string, TensorLayout> = new Map(), ops: QOp[] = q.ops): EnginePlan[] {
  const plans: EnginePlan[] = [];
  // Without a layout a tensor is dense in the shape its reader (or writer) sees: a Reshape alias reads
  // the same flat data with other dimensions.
  const lay = (t: string, channels: number): Layout => {
    const l = layouts.get(t);
    return l ? { P: l.pixStride, off: l.offset } : { P: channels, off: 0 };
  };
  ops.forEach((op, i) => {
    const d = directives.get(op.layer);
    if (!d) throw new Error(`no resolved directive for layer '${op.layer}'`);
    const base = `dm_e${q.ops.indexOf(op) >= 0 ? q.ops.indexOf(op) : i}_${ident(op.layer)}`;
    const inShapes = op.kind === 'elementwise' ? op.inShapes : [op.in];
    const ins = op.inputs.map((t, k) => lay(t, inShapes[k][2]));
    const out = lay(op.output, op.out[2]);
    if (op.kind === 'mac') plans.push(planMac(op, d, base, ins[0], out));
    else if (op.kind === 'pool') plans.push(planPool(op, d, base, ins[0], out));
    else if (op.kind === 'recurrent') plans.push(planRecurrent(op, d, base));
    else if (op.op === 'concat') op.inputs.forEach((_, k) => plans.push(planConcatPart(op, d, `${base}_p${k}`, k, ins[k], out)));
    else plans.push(planElementwise(op, d, base, ins, out));
  });
  return plans;
}

/** Lane-parallel reads take one word from each of `lanes` banks: the layout must keep a pixel's channels aligned to them. */
function checkBanked(op: QOp, lanes: number, l: Layout): void {
  if (lanes > 1 && (l.P % lanes !== 0 || l.off % lanes !== 0)) {
    throw new DeepMakerError(
      `${lanes} banked lanes cannot read '${op.inputs[0]}': it sits at channel ${l.off} of a concatenation with ${l.P} channels per pixel`,
      { where: `layer '${op.layer}'` },
      `use a number of lanes dividing ${l.P} and ${l.off}, or unroll: outputs`,
    );
  }
}

function finishPlan(p: Omit<EnginePlan, 'levels' | 'nRed' | 'K' | 'NG'> & { outer: Level[]; red: Level[] }): EnginePlan {
  const outer = keep(p.outer);
  const red = keep(p.red);
  const { outer: _o, red: _r, ...rest } = p;
  return { ...rest, levels: [...outer, ...red], nRed: red.length, K: prod(red), NG: prod(outer) };
}

function padCheck(inH: number, inW: number, outH: number, outW: number, kh: number, kw: number, sh: number, sw: number, pt: number, pl: number): PadCheck | undefined {
  const checkTop = pt > 0;
  const checkLeft = pl > 0;
  const checkBottom = (outH - 1) * sh - pt + kh - 1 >= inH;
  const checkRight = (outW - 1) * sw - pl + kw - 1 >= inW;
  if (!checkTop && !checkLeft && !checkBottom && !checkRight) return undefined;
  return {
    iy: { base: -pt, strides: { oy: sh, ky: 1 } },
    ix: { base: -pl, strides: { ox: sw, kx: 1 } },
    checkTop, checkBottom, checkLeft, checkRight, ih: inH, iw: inW,
  };
}

function planMac(op: QMac, d: ResolvedDirective, module: string, inL: Layout, outL: Layout): EnginePlan {
  const [ih, iw, C] = op.in;
  const [, , CO] = op.out;
  // With a fused pool only the positions some window covers are computed.
  const [oh, ow] = executedDims(op);
  const finish = (p: Parameters<typeof finishPlan>[0]) => (isFused(op) ? finishPlan(fusePoolLevels(p, op, outL)) : finishPlan(p));
  const [kh, kw] = op.kernel;
  const [sh, sw] = op.stride;
  const [pt, pl] = op.pad;
  const L = d.lanes;
  const W = (ky: number, kx: number, ci: number, co: number) => op.weights[((ky * kw + kx) * C + ci) * CO + co];
  const pad = padCheck(ih, iw, oh, ow, kh, kw, sh, sw, pt, pl);
  const common = {
    module, kind: 'mac' as const, op, directive: d, lanes: L, pipeline: d.pipeline, pad, coCount: CO, writerExtra: OUTPUT_REGISTER_CYCLES,
  };
  if (op.conv === 'depthwise') {
    const M = op.multiplier;
    const G = C / L;
    const banks = Array.from({ length: L }, () => new Int32Array(G * M * kh * kw));
    for (let l = 0; l < L; l++)
      for (let g = 0; g < G; g++)
        for (let j = 0; j < M; j++)
          for (let ky = 0; ky < kh; ky++)
            for (let kx = 0; kx < kw; kx++) banks[l][((g * M + j) * kh + ky) * kw + kx] = op.weights[((ky * kw + kx) * C + g * L + l) * M + j];
    // Bank words per pixel (lanes read one word from each bank); broadcast: elements.
    checkBanked(op, L, inL);
    const words = inL.P / L;
    const offWords = inL.off / L;
    return finish({
      ...common,
      outer: [{ name: 'oy', count: oh }, { name: 'ox', count: ow }, { name: 'g', count: G }, { name: 'j', count: M }],
      red: [{ name: 'ky', count: kh }, { name: 'kx', count: kw }],
      accs: L,
      D: D_MAC,
      wmax: L,
      lvLast: L,
      writes: oh * ow * CO,
      reads: [{
        tensor: op.inputs[0], input: 0, mode: L > 1 ? 'lanes' : 'broadcast',
        addr: { base: (-pt * iw - pl) * words + offWords, strides: { oy: sh * iw * words, ox: sw * words, g: 1, ky: iw * words, kx: words } },
      }],
      outAddr: { base: outL.off, strides: { oy: ow * outL.P, ox: outL.P, g: L * M, j: 1 } },
      coIndex: { base: 0, strides: { g: L * M, j: 1 } },
      laneStep: M,
      weightAddr: { base: 0, strides: { g: M * kh * kw, j: kh * kw, ky: kw, kx: 1 } },
      weightBanks: banks,
    });
  }
  if (d.unroll === 'both' || d.unroll === 'reduction') {
    // A banked input read: lane o·R + r computes output channel co(g, o) over the input channels ≡ r
    // (mod R), and each output's R products are summed. reduction is the case of one output per group
    // (R = lanes, summed by the adder tree); both computes lanes / input.factor outputs at once.
    const R = d.unroll === 'both' ? d.input.factor : L;
    const CB = C / R;
    checkBanked(op, R, inL);
    const PW = inL.P / R; // bank words per pixel
    return finish(bankedMac(common, op, d, outL, R, {
      red: [{ name: 'ky', count: kh }, { name: 'kx', count: kw }, { name: 'ci', count: CB }],
      tap: (r, k) => [Math.floor(k / (kw * CB)), Math.floor(k / CB) % kw, (k % CB) * R + r],
      read: { base: (-pt * iw - pl) * PW + inL.off / R, strides: { oy: sh * iw * PW, ox: sw * PW, ky: iw * PW, kx: PW, ci: 1 } },
      pad,
    }));
  }
  if (d.unroll === 'window') {
    // The model input laid out as kernel rows (WindowLayout): word (iy, ox) holds the kw·C inputs of
    // kernel row iy at output column ox, so lane o·R + r takes tap r = kx·C + ci of every kernel row
    // and the reduction runs over ky only. Columns outside the image are zeros in the words; rows
    // outside it are the pad check's.
    const w = windowLayout(op, inL);
    const R = kw * C;
    const rowPad: PadCheck | undefined = pad && (pad.checkTop || pad.checkBottom) ? { iy: pad.iy, checkTop: pad.checkTop, checkBottom: pad.checkBottom, checkLeft: false, checkRight: false, ih, iw } : undefined;
    return finish({
      ...bankedMac(common, op, d, outL, R, {
        red: [{ name: 'ky', count: kh }],
        tap: (r, ky) => [ky, Math.floor(r / C), r % C],
        read: { base: -pt * w.cols, strides: { oy: sh * w.cols, ox: 1, ky: w.cols } },
        pad: rowPad,
      }),
      window: w,
    });
  }
  // Output-channel unroll: lanes share one input read.
  const K = kh * kw * C;
  const { G, coOf, lvLast, gStride, laneStep } = channelGroups(CO, L, d.weights.partition === 'block');
  const banks = Array.from({ length: L }, () => new Int32Array(G * K));
  for (let l = 0; l < L; l++)
    for (let g = 0; g < G; g++) {
      const co = coOf(g, l);
      if (co >= CO) continue;
      for (let ky = 0; ky < kh; ky++) for (let kx = 0; kx < kw; kx++) for (let ci = 0; ci < C; ci++) banks[l][g * K + (ky * kw + kx) * C + ci] = W(ky, kx, ci, co);
    }
  return finish({
    ...common,
    outer: [{ name: 'oy', count: oh }, { name: 'ox', count: ow }, { name: 'g', count: G }],
    red: [{ name: 'ky', count: kh }, { name: 'kx', count: kw }, { name: 'ci', count: C }],
    accs: L,
    D: D_MAC,
    wmax: L,
    lvLast,
    writes: oh * ow * CO,
    reads: [{
      tensor: op.inputs[0], input: 0, mode: 'broadcast',
      addr: { base: (-pt * iw - pl) * inL.P + inL.off, strides: { oy: sh * iw * inL.P, ox: sw * inL.P, ky: iw * inL.P, kx: inL.P, ci: 1 } },
    }],
    outAddr: { base: outL.off, strides: { oy: ow * outL.P, ox: outL.P, g: gStride } },
    coIndex: { base: 0, strides: { g: gStride } },
    laneStep,
    weightAddr: { base: 0, strides: { g: K, ky: kw * C, kx: C, ci: 1 } },
    weightBanks: banks,
  });
}

type MacCommon = Pick<EnginePlan, 'module' | 'kind' | 'op' | 'directive' | 'lanes' | 'pipeline' | 'coCount' | 'writerExtra'>;

/**
 * The banked-input MAC plan (unroll reduction, both and window): lane o·R + r of group g computes
 * output channel co(g, o) from the input word's bank r, the R products of an output are summed (the
 * adder tree) before its accumulator. `red` is the reduction loop nest (outer first) and `tap(r, k)`
 * the kernel position [ky, kx, ci] lane bank r multiplies at reduction step k (row-major over `red`);
 * `read` is the input word's address.
 */
function bankedMac(common: MacCommon, op: QMac, d: ResolvedDirective, outL: Layout, R: number, s: { red: Level[]; tap: (r: number, k: number) => [number, number, number]; read: Affine; pad: PadCheck | undefined }): PrePlan {
  const [, kw] = op.kernel;
  const [, , C] = op.in;
  const CO = op.out[2];
  const [oh, ow] = executedDims(op);
  const L = d.lanes;
  const LO = L / R;
  const K = prod(s.red);
  const W = (ky: number, kx: number, ci: number, co: number) => op.weights[((ky * kw + kx) * C + ci) * CO + co];
  const { G, coOf, lvLast, gStride, laneStep } = channelGroups(CO, LO, d.weights.partition === 'block');
  const banks = Array.from({ length: L }, () => new Int32Array(G * K));
  for (let o = 0; o < LO; o++)
    for (let r = 0; r < R; r++)
      for (let g = 0; g < G; g++) {
        const co = coOf(g, o);
        if (co >= CO) continue;
        for (let k = 0; k < K; k++) banks[o * R + r][g * K + k] = W(...s.tap(r, k), co);
      }
  // Weight words in the order of the reduction loops: row-major strides over `red`.
  const wStrides: Record<string, number> = { g: K };
  for (let i = s.red.length - 1, st = 1; i >= 0; st *= s.red[i].count, i--) wStrides[s.red[i].name] = st;
  return {
    ...common,
    pad: s.pad,
    outer: [{ name: 'oy', count: oh }, { name: 'ox', count: ow }, { name: 'g', count: G }],
    red: s.red,
    accs: LO,
    D: R > 1 ? D_MAC_TREE : D_MAC,
    wmax: LO,
    lvLast,
    writes: oh * ow * CO,
    reads: [{ tensor: op.inputs[0], input: 0, mode: R > 1 ? 'lanes' : 'broadcast', addr: s.read }],
    outAddr: { base: outL.off, strides: { oy: ow * outL.P, ox: outL.P, g: gStride } },
    coIndex: { base: 0, strides: { g: gStride } },
    laneStep,
    weightAddr: { base: 0, strides: wStrides },
    weightBanks: banks,
  };
}

/**
 * The model input laid out for unroll window (written by the top's loader, src/rtl/top.ts): `rows`
 * rows of `cols` words; word (y, ox) holds, in lane order r = kx·C + ci, input pixel (y, ox·sw − pl + kx)
 * channel ci, zero outside the image. The loader shifts each arriving element into a kw·C shift
 * register (reset to zeros at each row start) and writes the word of column ox when virtual column
 * ox·sw − pl + kw − 1 has arrived; columns past the image are `flush` zero pixels shifted in after the
 * row's last pixel (one per cycle, no input accepted meanwhile).
 */
export interface WindowLayout {
  rows: number;
  width: number;
  channels: number;
  kw: number;
  pl: number;
  sw: number;
  /** Words per row: the output columns the engine computes. */
  cols: number;
  /** Zero pixels shifted in after each row (the last row's come after the last input byte: cycles). */
  flush: number;
}

export function windowLayout(op: QMac, inL: Layout): WindowLayout {
  const [ih, iw, C] = op.in;
  const [, kw] = op.kernel;
  const [, sw] = op.stride;
  const [, pl] = op.pad;
  const where = { where: `layer '${op.layer}'` };
  if (inL.P !== C || inL.off !== 0) throw new DeepMakerError('unroll: window reads the model input, which is not a plain tensor here', where, 'use unroll: both or reduction');
  if (pl > kw - 1) throw new DeepMakerError(`unroll: window with ${pl} columns of left padding over a kernel ${kw} wide: some windows hold no pixel`, where, 'use padding valid or same');
  const cols = executedDims(op)[1];
  const last = (cols - 1) * sw - pl + kw - 1; // the virtual column completing the last word
  return { rows: ih, width: iw, channels: C, kw, pl, sw, cols, flush: Math.max(0, last - (iw - 1)) };
}

/** Whether the loader writes a word after virtual column x of a row (x < width + flush). */
export function windowWritesAt(w: WindowLayout, x: number): boolean {
  const d = x - (w.kw - 1 - w.pl);
  return d >= 0 && d % w.sw === 0 && d / w.sw < w.cols;
}

/**
 * Lanes summed into one accumulator: 1 (outputs, depthwise), all of them (reduction, through the adder
 * tree), or input.factor (both: each output's products over its input banks).
 */
export function sumGroup(p: EnginePlan): number {
  if (p.kind !== 'mac' || p.lanes === 1) return 1;
  if (p.directive.unroll === 'reduction') return p.lanes;
  if (p.directive.unroll === 'both' || p.directive.unroll === 'window') return p.directive.input.factor;
  return 1;
}

/** Operand words a banked read delivers per cycle (the banks of the buffer it reads); 1 for a broadcast read. */
export function readWords(p: EnginePlan, r: ReadPort): number {
  return r.mode === 'lanes' ? p.directive.input.factor : 1;
}

/** Output rows and columns a MAC engine computes: all of them, or with a fused pool those its windows cover. */
export function executedDims(op: QMac): [number, number] {
  if (!isFused(op)) return [op.out[0], op.out[1]];
  return [op.pool.out[0] * op.pool.window[0], op.pool.out[1] * op.pool.window[1]];
}

/** MACs an engine performs (a fused pool skips the positions no window covers). */
export function executedMacs(op: QOp): number {
  if (op.kind === 'recurrent') return opMacs(op);
  if (op.kind !== 'mac') return 0;
  const [oh, ow] = executedDims(op);
  return oh * ow * op.out[2] * op.fanIn;
}

type PrePlan = Parameters<typeof finishPlan>[0];

/**
 * Re-walks a MAC plan's positions window by window: oy = wy·py + iy', ox = wx·px + ix' with the pooled
 * position (oy, ox → oy, ox of the pooled map) outside and the window position (py, px) as the innermost
 * outer levels, so a window's groups follow one another. Reads, padding and weights keep their address
 * (substituted); the output address is the pooled element's, the same for every window position.
 */
function fusePoolLevels(p: PrePlan, op: FusedMac, outL: Layout): PrePlan {
  const [wy, wx] = op.pool.window;
  const [ph, pw] = op.pool.out;
  const sub = (a: Affine): Affine => {
    const { oy, ox, ...rest } = a.strides;
    const strides: Record<string, number> = { ...rest };
    if (oy) Object.assign(strides, { oy: wy * oy, py: oy });
    if (ox) Object.assign(strides, { ox: wx * ox, px: ox });
    return { base: a.base, strides };
  };
  const outer = p.outer.map((l) => (l.name === 'oy' ? { name: 'oy', count: ph } : l.name === 'ox' ? { name: 'ox', count: pw } : l));
  const window = [{ name: 'py', count: wy }, { name: 'px', count: wx }];
  const { oy: _y, ox: _x, ...outRest } = p.outAddr.strides;
  const pad = p.pad && { ...p.pad, iy: sub(p.pad.iy), ...(p.pad.ix ? { ix: sub(p.pad.ix) } : {}) };
  return {
    ...p,
    outer: [...outer, ...window],
    reads: p.reads.map((r) => ({ ...r, addr: sub(r.addr) })),
    ...(pad ? { pad } : {}),
    ...(p.weightAddr ? { weightAddr: sub(p.weightAddr) } : {}),
    outAddr: { base: p.outAddr.base, strides: { ...outRest, oy: pw * outL.P, ox: outL.P } },
    pool: { layer: op.pool.layer, levels: window.filter((l) => l.count > 1).map((l) => l.name) },
  };
}

/**
 * Output channels computed n at a time (unroll outputs, and the outputs side of unroll both): G groups;
 * lane o of group g computes channel g·n + o (cyclic) or o·G + g (block); the last group has lvLast
 * channels; a group's first channel steps by gStride, and the writer's next output by laneStep.
 */
function channelGroups(CO: number, n: number, block: boolean) {
  const G = Math.ceil(CO / n);
  const coOf = (g: number, o: number) => (block ? o * G + g : g * n + o);
  let lvLast = 0;
  for (let o = 0; o < n; o++) if (coOf(G - 1, o) < CO) lvLast++;
  return { G, coOf, lvLast, gStride: block ? 1 : n, laneStep: block ? G : 1 };
}

/**
 * The MAC engines' writer stages after W2 (src/rtl/engines.ts): W2r, the rounded value registered
 * before saturation, and W3, the requantized output registered before the write.
 */
export const OUTPUT_REGISTER_CYCLES = 2;

/** Extra writer latency of the average-pool divider: one cycle per quotient bit, a last check and the result cycle. */
export function dividerCycles(quotientBits: number): number {
  return quotientBits + 2;
}

/** Accumulator bits of a pool: the input width for max; the window sum's width for average. */
export function poolAccBits(op: QPool): number {
  const n = op.window[0] * op.window[1];
  return op.op === 'max' ? op.inFormat.bits : op.inFormat.bits + clog2(n) + 1;
}

function planPool(op: QPool, d: ResolvedDirective, module: string, inL: Layout, outL: Layout): EnginePlan {
  const [ih, iw, C] = op.in;
  const [oh, ow] = op.out;
  const [kh, kw] = op.window;
  const [sh, sw] = op.stride;
  const [pt, pl] = op.pad;
  const pad = padCheck(ih, iw, oh, ow, kh, kw, sh, sw, pt, pl);
  let avg: EnginePlan['avg'];
  let writerExtra = 0;
  let wmax = 1;
  if (op.op === 'avg') {
    const fx = fracBits(op.inFormat);
    const fo = fracBits(op.outFormat);
    const n = kh * kw;
    if (!pad && (n & (n - 1)) === 0) avg = { kind: 'shift', shift: fx - fo + Math.log2(n) };
    else {
      avg = { kind: 'divide', window: n, numShift: Math.max(0, fo - fx), denShift: Math.max(0, fx - fo) };
      writerExtra = dividerCycles(avgQuotientBits(op, avg.numShift));
      wmax = 1 + writerExtra;
    }
  }
  return finishPlan({
    module, kind: 'pool', op, directive: d, lanes: 1, pipeline: true, pad, coCount: 1, writerExtra, avg,
    outer: [{ name: 'oy', count: oh }, { name: 'ox', count: ow }, { name: 'g', count: C }],
    red: [{ name: 'ky', count: kh }, { name: 'kx', count: kw }],
    accs: 1,
    D: D_STREAM,
    wmax,
    lvLast: 1,
    writes: oh * ow * C,
    reads: [{ tensor: op.inputs[0], input: 0, mode: 'broadcast', addr: { base: (-pt * iw - pl) * inL.P + inL.off, strides: { oy: sh * iw * inL.P, ox: sw * inL.P, g: 1, ky: iw * inL.P, kx: inL.P } } }],
    outAddr: { base: outL.off, strides: { oy: ow * outL.P, ox: outL.P, g: 1 } },
    laneStep: 1,
  });
}

/** Bits of the average-pool quotient magnitude: the window sum's width, shifted. */
export function avgQuotientBits(op: QPool, numShift: number): number {
  return poolAccBits(op) + numShift;
}

function planElementwise(op: QElementwise, d: ResolvedDirective, module: string, ins: Layout[], outL: Layout): EnginePlan {
  const [oh, ow, C] = op.out;
  const size = oh * ow * C;
  const common = { module, op, directive: d, lanes: 1, pipeline: true, coCount: 1, writerExtra: 0, accs: 1, D: D_STREAM, wmax: 1, lvLast: 1, writes: size, laneStep: 1, red: [] as Level[] };
  if (op.op === 'pad') {
    const [ih, iw] = op.inShapes[0];
    const [pt, pl] = op.pad!;
    const inL = ins[0];
    return finishPlan({
      ...common,
      kind: 'pad',
      outer: [{ name: 'oy', count: oh }, { name: 'ox', count: ow }, { name: 'g', count: C }],
      pad: { iy: { base: -pt, strides: { oy: 1 } }, ix: { base: -pl, strides: { ox: 1 } }, checkTop: pt > 0, checkLeft: pl > 0, checkBottom: oh - pt > ih, checkRight: ow - pl > iw, ih, iw },
      reads: [{ tensor: op.inputs[0], input: 0, mode: 'broadcast', addr: { base: (-pt * iw - pl) * inL.P + inL.off, strides: { oy: iw * inL.P, ox: inL.P, g: 1 } } }],
      outAddr: { base: outL.off, strides: { oy: ow * outL.P, ox: outL.P, g: 1 } },
    });
  }
  const sameShapes = op.inShapes.every((s) => s[0] === oh && s[1] === ow && s[2] === C);
  if (!sameShapes) {
    // A Reshape/Flatten with a format change: the flat order is kept (its tensors are dense: src/rtl/concat.ts).
    return finishPlan({
      ...common,
      kind: op.op === 'add' ? 'add' : 'copy',
      outer: [{ name: 'i', count: size }],
      reads: op.inputs.map((t, k) => ({ tensor: t, input: k, mode: 'broadcast' as const, addr: { base: 0, strides: { i: 1 } } })),
      outAddr: { base: 0, strides: { i: 1 } },
    });
  }
  return finishPlan({
    ...common,
    kind: op.op === 'add' ? 'add' : 'copy',
    outer: [{ name: 'p', count: oh * ow }, { name: 'c', count: C }],
    reads: op.inputs.map((t, k) => ({ tensor: t, input: k, mode: 'broadcast' as const, addr: { base: ins[k].off, strides: { p: ins[k].P, c: 1 } } })),
    outAddr: { base: outL.off, strides: { p: outL.P, c: 1 } },
  });
}

function planConcatPart(op: QElementwise, d: ResolvedDirective, module: string, k: number, inL: Layout, outL: Layout): EnginePlan {
  const [oh, ow, CO] = op.out;
  const ck = op.inShapes[k][2];
  const off = op.inShapes.slice(0, k).reduce((a, s) => a + s[2], 0);
  return finishPlan({
    module, kind: 'copy', op, part: k, directive: d, lanes: 1, pipeline: true, coCount: 1, writerExtra: 0, accs: 1, D: D_STREAM, wmax: 1, lvLast: 1,
    writes: oh * ow * ck, laneStep: 1,
    outer: [{ name: 'p', count: oh * ow }, { name: 'c', count: ck }],
    red: [],
    reads: [{ tensor: op.inputs[k], input: k, mode: 'broadcast', addr: { base: inL.off, strides: { p: inL.P, c: 1 } } }],
    outAddr: { base: outL.off + off, strides: { p: outL.P, c: 1 } },
  });
}

/**
 * DSP multipliers an engine asks for (generateRtl and the DSE's cost model give them in layer order):
 * a ternary MAC layer's scale multiplier, a ternary recurrent engine's two scale multipliers (its
 * lanes add and subtract), none for a MAC engine on the shared array, else one per lane.
 */
export function dspWanted(op: QOp, lanes: number, onArray: boolean): number {
  if (op.kind === 'mac' && op.ternaryScale) return 1;
  if (op.kind === 'recurrent' && op.ternary) return 2;
  return onArray && op.kind === 'mac' ? 0 : lanes;
}

/** The plan of a recurrent layer (the fields the generic engines use describe its loop nest for reports and the cost model). */
export function planRecurrent(op: QRecurrent, d: ResolvedDirective, module: string): EnginePlan {
  const where = { where: `layer '${op.layer}' (${op.irType})` };
  if (op.outFormat.bits > RECURRENT_MAX_BITS) {
    throw new DeepMakerError(
      `the RTL computes a recurrent cell's activations as ROM tables of the stored integers; an output format of ${op.outFormat.bits} bits needs ${2 ** op.outFormat.bits} words per function`,
      where,
      `use activations of at most ${RECURRENT_MAX_BITS} bits for this layer`,
    );
  }
  if (d.unroll !== 'outputs') throw new DeepMakerError(`unroll: ${d.unroll} on a recurrent layer: its lanes take neighbouring gate columns`, where, 'use unroll: outputs');
  const cols = op.gates.length * op.units;
  if (d.lanes > cols) throw new DeepMakerError(`${d.lanes} lanes over ${cols} gate columns would leave lanes idle`, where, `use at most ${cols} lanes`);
  const sched = recurrentSchedule(op, d.lanes);
  const groups = sched.passes.reduce((s, x) => s + x.NG, 0);
  const K = op.features + op.units;
  const size = op.out[0] * op.out[1] * op.out[2];
  return {
    module, kind: 'recurrent', op, directive: d, lanes: d.lanes, pipeline: true, coCount: cols, writerExtra: 0,
    levels: [{ name: 't', count: op.timeSteps }, { name: 'g', count: groups }, { name: 'k', count: K }].filter((l) => l.count > 1),
    nRed: K > 1 ? 1 : 0, K, NG: op.timeSteps * groups, accs: d.lanes, D: 3, wmax: d.lanes, lvLast: sched.passes[sched.passes.length - 1].lvLast,
    writes: size, reads: [{ tensor: op.inputs[0], input: 0, mode: 'broadcast', addr: { base: 0, strides: { k: 1 } } }],
    outAddr: { base: 0, strides: {} }, laneStep: 1,
    weightBanks: recurrentWeightBanks(op, sched, d.lanes),
    recurrent: sched,
  };
}
