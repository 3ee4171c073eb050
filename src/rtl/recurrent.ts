/**
 * The recurrent engine: one Verilog module for an LSTM, GRU (reset_after true and false) or SimpleRNN
 * layer (src/qmodel/lower.ts QRecurrent; LSTM and SimpleRNN also ternary, below), bit-exact with the
 * fixed-point C (src/cgen/recurrent.ts) and the TF.js integer reference (src/quant/recurrent.ts).
 *
 * Per time step the engine runs phases one after the other, each started by the previous one's end:
 *
 *   MAC stream   the gate matrix-vector products over [x_t ; h_{t-1}]: `lanes` MAC lanes over the
 *                gate·unit columns (like `unroll: outputs`), one operand per cycle broadcast to every
 *                lane (x_t from the input buffer, h or r⊙h from the state memory), one weight ROM word
 *                per lane (the kernel row, then the recurrent-kernel row), products shifted by sx / sh
 *                onto the gate sums' frac P and accumulated modulo 2^accBits. A writer shifts each
 *                group's sums out one per cycle: + bias (mod 2^accBits), requantized once to the
 *                output format O, then the gate's activation, stored in the state memory's gate slots.
 *   [reset]      GRU reset_after false: rh = requantize(r·h, 2·fo) per unit; a second MAC stream then
 *                computes the h gate over [x_t ; rh].
 *   cell update  one unit after another (a fixed micro-program per cell type), one shared multiplier:
 *                LSTM c = requantize(f·c + i·g, 2·fo), h = requantize(o·act(c), 2·fo); GRU
 *                h = requantize(hh·2^H + z·(h − hh)·2^P, F) (reset_after: hh = act(requantize(
 *                qx·2^H + r·qh·2^P, F)) first); SimpleRNN h = the gate. h goes to the output buffer
 *                (every step with return_sequences, else the last).
 *
 * Activations are ROM tables indexed by the stored integer (2^bits words per function, computed by
 * src/numerics/recurrent.ts cellActivation: the table interpolation, the exact rationals, relu,
 * linear), so every function is exact by construction; this is why the output format is limited to
 * RECURRENT_MAX_BITS. The state memory holds the gate slots, h, and c (LSTM) or r⊙h (GRU); at the
 * first step reads of h and c are forced to zero (the C zeroes them). The shared MAC array
 * (src/rtl/array.ts) does not serve recurrent layers: they always have an engine of their own.
 *
 * Ternary (FaCT-LSTM) LSTM and SimpleRNN layers (QRecurrent.ternary) keep this structure and timing;
 * only the lanes' arithmetic and the writer's sum differ (laneArith):
 *
 *   weights      2-bit codes (00 = 0, 01 = +1, 11 = −1), so a ROM word holds lanes × 2 bits
 *   S1           the operand's code t(v, θ) = +1 if v ≥ θ, −1 if v ≤ −θ, else 0, with θ_x[k] or
 *                θ_h[k − features] (the C's dm_tthreshold integers) from a table read at k
 *   S2, S3       per lane the product of the two codes (+1, −1 or 0), added into ax over the kernel
 *                rows and ah over the recurrent rows (exact; one {ah, ax} register per lane)
 *   writer W2    y = ax·sW[col] + ah·sU[col] + b[col] exactly (two multipliers, DSP or LUT; the scale
 *                tables read at W1 like the bias), requantized once from the scale's frac to O
 *
 * then the activation table and the cell update above, as the C's ternaryGate does.
 *
 * The timing is fixed by the schedule (src/rtl/recurrent-plan.ts, checked against simulation by test/rtl).
 */
import { fracBits, type FixedFormat } from '../numerics/fixed';
import { cellActivation } from '../numerics/recurrent';
import type { QRecurrent } from '../qmodel/lower';
import { LOGIC_ROM_MAX_DEPTH, type EngineContext, type EngineModule, type ReadPortInfo } from './engines';
import type { EnginePlan } from './plan';
import { laneMultipliers, lutMultiply, romDepth, romModule, ROM_MAX_WIDTH, type RomImage } from './primitives';
import { recurrentSumBits, recurrentTernaryWidths, type RecurrentTernaryWidths } from './recurrent-plan';
import { clog2, emitRequantize, emitTernaryCompare, hexImage, Lines, lit, sext, ulit } from './verilog';

/** `expr` (signed, `bits` wide, a plain name) sign-extended to W bits and shifted left by s (mod 2^W). */
function shl(expr: string, bits: number, s: number, W: number): string {
  if (s >= W) return `${W}'d0`;
  if (s === 0) return sext(expr, bits, W);
  return `{${sext(expr, bits, W - s)}, ${s}'d0}`;
}

/** The lanes' arithmetic: fixed-point multiply-accumulate, or ternary (FaCT-LSTM) add/subtract/skip of codes. */
interface LaneArith {
  /** Weight ROM bits per lane: the weight format, or the 2-bit code (00 = 0, 01 = +1, 11 = −1). */
  WB: number;
  /** Accumulator (and shadow) bits per lane: the gate sum modulo 2^accBits, or ternary {ah, ax}. */
  ACW: number;
  tern?: RecurrentTernaryWidths;
}

function laneArith(op: QRecurrent): LaneArith {
  const tern = recurrentTernaryWidths(op);
  return tern ? { WB: 2, ACW: tern.axBits + tern.ahBits, tern } : { WB: op.weightFormat.bits, ACW: op.accBits };
}

/** `sig` (`bits` wide, unsigned) zero-extended or truncated to `to` bits. */
function fitAddr(sig: string, bits: number, to: number): string {
  return to === bits ? sig : to > bits ? `{${to - bits}'d0, ${sig}}` : `${sig}[${to - 1}:0]`;
}

/** A table read on the clock edge at `addr` (`addrBits` wide), its word on `q` one cycle later: in logic when small, else an EBR ROM. */
function tableRom(L: Lines, roms: RomImage[], p: EnginePlan, role: RomImage['role'], suffix: string, words: ArrayLike<number | bigint>, width: number, addr: string, addrBits: number, q: string): void {
  const logic = words.length <= LOGIC_ROM_MAX_DEPTH;
  const depth = logic ? Math.max(2, words.length) : romDepth(words.length);
  roms.push({ file: `${p.module}_${suffix}.hex`, module: `${p.module}_rom_${suffix}`, role, width, depth, words: words.length, contents: hexImage(words, width, depth), memory: logic ? 'logic' : 'ebr' });
  L.line(`wire [${width - 1}:0] ${q};`);
  L.line(`${p.module}_rom_${suffix} u_${suffix} (.clk(clk), .addr(${fitAddr(addr, addrBits, clog2(depth))}), .q(${q}));`);
}

/** The weight ROMs: every lane reads address w_addr; as many lanes as fit in a 16-bit word share one ROM; lane l's word is wq<l>. */
function emitWeightRoms(L: Lines, roms: RomImage[], p: EnginePlan, WB: number): void {
  const banks = p.weightBanks!;
  const perRom = Math.max(1, Math.floor(ROM_MAX_WIDTH / WB));
  for (let first = 0, r = 0; first < p.lanes; first += perRom, r++) {
    const group = Math.min(perRom, p.lanes - first);
    // Two's complement in WB bits: ternary codes −1, 0, 1 become 11, 00, 01.
    const ws = Array.from({ length: banks[0].length }, (_, a) => {
      let w = 0n;
      for (let g = group - 1; g >= 0; g--) w = (w << BigInt(WB)) | BigInt.asUintN(WB, BigInt(banks[first + g][a]));
      return w;
    });
    const depth = romDepth(ws.length);
    const file = `${p.module}_w${r}.hex`;
    roms.push({ file, module: `${p.module}_rom_w${r}`, role: 'weights', width: WB * group, depth, words: ws.length, contents: hexImage(ws, WB * group, depth), memory: 'ebr' });
    L.line(`wire [${WB * group - 1}:0] wrom${r};`);
    L.line(`${p.module}_rom_w${r} u_w${r} (.clk(clk), .addr(w_addr), .q(wrom${r}));`);
    for (let g = 0; g < group; g++) L.line(`wire [${WB - 1}:0] wq${first + g} = wrom${r}[${(g + 1) * WB - 1}:${g * WB}];`);
  }
}

/**
 * Ternary S1: the operand's code t(opd, θ) (the C's DM_TCODE_AT). The thresholds of the reduction
 * steps (θ_x per input feature, then θ_h per unit: the one pass of an LSTM or SimpleRNN) are a table
 * read at k, so θ arrives with the operand. A θ beyond every operand value is stored as 2^XB − 1
 * (it never fires either way), so the compare is XB + 1 bits wide.
 */
function emitOperandCode(L: Lines, roms: RomImage[], p: EnginePlan, op: QRecurrent, XB: number, KW: number): string {
  const t = op.ternary!;
  const pass = p.recurrent!.passes;
  if (pass.length !== 1 || pass[0].Fx !== op.features || pass[0].K !== op.features + op.units) throw new Error(`recurrent engine: a ternary ${op.cell} has one pass over x then h`);
  const TW = XB + 1;
  const theta = [...t.inputThresholds, ...t.stateThresholds].map((v) => Math.min(v, 2 ** XB - 1));
  L.line(`// operand thresholds (theta_x[0..${op.features}), theta_h[0..${op.units})), read at k`);
  tableRom(L, roms, p, 'threshold', 'theta', theta, TW, 'k', KW, 'theta_q');
  return emitTernaryCompare(L, 'opd', XB, 'theta_q', TW, { ext: 'opd_t', neg: 'theta_n', code: 'tc1' });
}

/** S2: one product register per lane: weight × operand (a DSP or LUT multiplier), or the product of two ternary codes. */
function emitLaneProducts(L: Lines, p: EnginePlan, ctx: EngineContext, WB: number, XB: number, code: string | undefined): { dsp: number; lut: number } {
  let dsp = 0;
  let lut = 0;
  if (code) {
    // Sign-magnitude codes: non-zero when both are (bit 0), negative when their signs differ (bit 1): +1, −1 or 0 in two bits.
    for (let l = 0; l < p.lanes; l++) {
      L.line(`(* keep *) reg [1:0] prod${l};`);
      L.line(`always @(posedge clk) prod${l} <= (wq${l}[0] & ${code}[0]) ? {wq${l}[1] ^ ${code}[1], 1'b1} : 2'b00;`);
    }
    return { dsp, lut };
  }
  const PB = WB + XB;
  const { useDsp, lutForm } = laneMultipliers(p.directive.multiplier, ctx.dspBudget, WB, XB, PB);
  for (let l = 0; l < p.lanes; l++) {
    L.line(`(* keep *) reg [${PB - 1}:0] prod${l};`);
    if (!lutForm(l)) {
      L.line(`always @(posedge clk) prod${l} <= $signed(wq${l}) * $signed(opd);`);
      if (useDsp(l)) dsp++;
      else lut++;
    } else {
      L.line(`always @(posedge clk) prod${l} <= ${lutMultiply(`wq${l}`, WB, 'opd', XB, PB)};`);
      lut++;
    }
  }
  return { dsp, lut };
}

/**
 * S3: the accumulators, restarted at a group's first step (f2). Fixed point: products shifted onto
 * the gate sums' frac (x by sx, state by sh), modulo 2^accBits. Ternary: ±1 or 0 into ax over the
 * kernel rows (x2) and ah over the recurrent rows, exact; acc holds {ah, ax}.
 */
function emitAccumulators(L: Lines, op: QRecurrent, lanes: number, ar: LaneArith, XB: number): void {
  const A = ar.ACW;
  const update: string[] = [];
  L.line('reg gdone;');
  for (let l = 0; l < lanes; l++) {
    L.line(`reg [${A - 1}:0] acc${l};`);
    if (ar.tern) {
      const { axBits: X, ahBits: H } = ar.tern;
      L.line(`wire [${X - 1}:0] tax${l} = ${sext(`prod${l}`, 2, X)};`);
      L.line(`wire [${H - 1}:0] tah${l} = ${sext(`prod${l}`, 2, H)};`);
      const hi = `acc${l}[${A - 1}:${X}]`;
      const lo = `acc${l}[${X - 1}:0]`;
      update.push(`acc${l} <= f2 ? (x2 ? {${H}'d0, tax${l}} : {tah${l}, ${X}'d0}) : (x2 ? {${hi}, ${lo} + tax${l}} : {${hi} + tah${l}, ${lo}});`);
    } else {
      const PB = ar.WB + XB;
      L.line(`wire [${A - 1}:0] term${l} = x2 ? ${shl(`prod${l}`, PB, op.sx, A)} : ${shl(`prod${l}`, PB, op.sh, A)};`);
      update.push(`acc${l} <= f2 ? term${l} : acc${l} + term${l};`);
    }
  }
  L.line('always @(posedge clk) begin');
  L.indent(() => {
    L.line('if (v2) begin');
    L.indent(() => L.lines(update));
    L.line('end');
    L.line("if (rst) gdone <= 1'b0; else gdone <= v2 & t2;");
  });
  L.line('end');
}

/**
 * W1 and W2's sum: the slot's bias (and a ternary engine's scales) read at wn, valid beside wv1.
 * Fixed point: wv1 + bias modulo 2^accBits. Ternary: y = ax·sW + ah·sU + b exactly (the C's int64),
 * two multipliers (a DSP each while the budget lasts, else LUTs).
 */
function emitWriterSum(L: Lines, roms: RomImage[], p: EnginePlan, ctx: EngineContext, op: QRecurrent, ar: LaneArith, SLW: number): { bits: number; expr: string; dsp: number; lut: number } {
  const s = p.recurrent!;
  const Y = recurrentSumBits(op);
  const terms: string[] = [];
  let dsp = 0;
  let lut = 0;
  if (ar.tern) {
    const w = ar.tern;
    const SB = w.scaleBits;
    tableRom(L, roms, p, 'scale', 'sw', op.ternary!.kernelScale, SB, 'wn', SLW, 'sw_q');
    tableRom(L, roms, p, 'scale', 'su', op.ternary!.recurrentScale, SB, 'wn', SLW, 'su_q');
    L.line(`wire [${w.axBits - 1}:0] wax = wv1[${w.axBits - 1}:0];`);
    L.line(`wire [${w.ahBits - 1}:0] wah = wv1[${ar.ACW - 1}:${w.axBits}];`);
    for (const [y, a, aBits, sc] of [['wpx', 'wax', w.axBits, 'sw_q'], ['wph', 'wah', w.ahBits, 'su_q']] as const) {
      const PB = aBits + SB;
      const { useDsp, lutForm } = laneMultipliers(p.directive.multiplier, ctx.dspBudget - dsp, aBits, SB, PB);
      L.line(`wire [${PB - 1}:0] ${y} = ${lutForm(0) ? lutMultiply(a, aBits, sc, SB, PB) : `$signed(${a}) * $signed(${sc})`};`);
      if (useDsp(0)) dsp++;
      else lut++;
      terms.push(sext(y, PB, Y));
    }
  } else terms.push('wv1');
  if (s.slotBias.some((x) => x !== 0n)) {
    tableRom(L, roms, p, 'bias', 'bias', s.slotBias, Y, 'wn', SLW, 'bias_q');
    terms.push('bias_q');
  }
  return { bits: Y, expr: terms.join(' + '), dsp, lut };
}

/** Emits the engine module of a recurrent plan. */
export function emitRecurrentEngine(p: EnginePlan, ctx: EngineContext): EngineModule {
  const op = p.op as QRecurrent;
  const s = p.recurrent!;
  const L = new Lines();
  const roms: RomImage[] = [];
  const { timeSteps: T, features: F, units: u } = op;
  const lanes = p.lanes;
  const O: FixedFormat = op.outFormat;
  const B = O.bits;
  const fo = fracBits(O);
  const XIB = op.inFormat.bits;
  const XB = Math.max(XIB, B);
  const ar = laneArith(op);
  const { WB, ACW } = ar;
  const inT = ctx.tensor(op.inputs[0]);
  const outT = ctx.tensor(op.output);
  const reads: ReadPortInfo[] = [{ tensor: op.inputs[0], mode: 'broadcast', addrBits: clog2(inT.size), bits: inT.bits, words: 1 }];
  const writeAddrBits = clog2(outT.size);
  const AB = reads[0].addrBits;
  const RAW = clog2(s.depth);
  const NP = s.passes.length;
  const PW = clog2(NP);
  const GW = clog2(Math.max(...s.passes.map((x) => x.NG)));
  const KW = clog2(Math.max(...s.passes.map((x) => x.K)));
  const SLW = clog2(s.slots + 1);
  const LW = clog2(lanes + 1);
  const maxWait = Math.max(0, ...s.passes.map((x) => Math.max(x.waitInner, x.waitAfter)));
  const WTW = clog2(maxWait + 1);
  const banks = p.weightBanks!;
  const waw = clog2(romDepth(banks[0].length));
  let dsp = 0;
  let lut = 0;
  const after = op.cell === 'gru' && op.resetAfter;
  const kindText = `${op.cell}${op.cell === 'gru' ? (after ? ' reset_after' : ' reset_before') : ''}`;

  L.line(`// ${op.layer} (${op.irType}): recurrent engine, ${kindText}, ${T} steps x ${F} features -> ${u} units, lanes=${lanes}, ${NP} pass(es), ${s.stepCycles} cycles per step`);
  L.line(`module ${p.module} (`);
  L.indent(() => {
    L.lines(['input wire clk,', 'input wire rst,', 'input wire start,', 'output reg done,', 'output wire rd0_en,', `output wire [${AB - 1}:0] rd0_addr,`, `input wire [${inT.bits - 1}:0] rd0_q,`]);
    L.lines(['output wire wr_en,', `output wire [${writeAddrBits - 1}:0] wr_addr,`, `output wire [${B - 1}:0] wr_data`]);
  });
  L.line(');');
  L.indent(() => {
    // ---- step control
    const SW = clog2(T);
    L.line('// ---- time steps');
    L.line(`reg [${SW - 1}:0] st;`);
    L.line(`reg [${AB - 1}:0] xbase;`);
    L.line(`reg [${writeAddrBits - 1}:0] obase;`);
    L.line(`wire s_first = (st == ${ulit(0, SW)});`);
    L.line(`wire s_last = (st == ${ulit(T - 1, SW)});`);
    L.line('wire cell_fin;');
    L.line('wire str_fin0, str_fin1, rs_fin;');
    L.line('wire step_go = start | (cell_fin & ~s_last);');
    L.line('wire go0 = step_go;');
    L.line(s.streams === 2 ? 'wire go1 = rs_fin;' : "wire go1 = 1'b0;");
    L.line(`wire rs_go = ${s.resetCycles ? 'str_fin0' : "1'b0"};`);
    L.line(`wire cell_go = ${s.streams === 2 ? 'str_fin1' : 'str_fin0'};`);
    const x0 = op.goBackwards ? (T - 1) * F : 0;
    const dx = op.goBackwards ? -F : F;
    const o0 = op.returnSequences && op.reverseOutput ? (T - 1) * u : 0;
    const dob = op.returnSequences ? (op.reverseOutput ? -u : u) : 0;
    L.line('always @(posedge clk) begin');
    L.indent(() => {
      L.line(`if (start) begin st <= 0; xbase <= ${lit(x0, AB)}; obase <= ${lit(o0, writeAddrBits)}; end`);
      L.line(`else if (cell_fin) begin st <= st + 1'b1; xbase <= xbase + ${lit(dx, AB)}; obase <= obase + ${lit(dob, writeAddrBits)}; end`);
      L.line("if (rst) done <= 1'b0; else done <= cell_fin & s_last;");
    });
    L.line('end');

    // ---- the state memory (gate slots, h, c / r⊙h): one write port, one synchronous read port
    L.line(`// ---- state memory: slots [0, ${s.slots}), h at ${s.hAddr}${s.cAddr >= 0 ? `, c at ${s.cAddr}` : ''}${s.rhAddr >= 0 ? `, r*h at ${s.rhAddr}` : ''}`);
    L.line('wire uact;');
    L.line(`wire [${RAW - 1}:0] mac_ra, cell_ra;`);
    L.line(`wire [${RAW - 1}:0] rm_raddr = uact ? cell_ra : mac_ra;`);
    L.line(`wire [${B - 1}:0] rm_q;`);
    L.line('wire wr4_we, cell_we;');
    L.line(`wire [${RAW - 1}:0] wr4_addr, cell_wa;`);
    L.line(`wire [${B - 1}:0] wr4_d, cell_wd;`);
    L.line(`dm_ram #(.W(${B}), .D(${s.depth}), .AW(${RAW})) u_rm (.clk(clk), .we(wr4_we | cell_we), .waddr(cell_we ? cell_wa : wr4_addr), .wd(cell_we ? cell_wd : wr4_d), .raddr(rm_raddr), .rq(rm_q));`);

    // ---- activation tables
    const TB = s.tables.length > 1 ? 1 : 0;
    const words: number[] = [];
    for (const a of s.tables) for (let i = 0; i < 2 ** B; i++) words.push(cellActivation(a, i >= 2 ** (B - 1) ? i - 2 ** B : i, O, op.tanhTable));
    const actDepth = romDepth(words.length);
    const actAW = clog2(actDepth);
    roms.push({ file: `${p.module}_act.hex`, module: `${p.module}_rom_act`, role: 'activation', width: B, depth: actDepth, words: words.length, contents: hexImage(words, B, actDepth), memory: 'ebr' });
    L.line(`// ---- activation tables (${s.tables.map((a) => a.kind).join(', ')}): ${2 ** B} words each, indexed by the stored integer`);
    L.line(`wire [${actAW - 1}:0] act_addr, cell_aa, wr_aa;`);
    L.line('assign act_addr = uact ? cell_aa : wr_aa;');
    L.line(`wire [${B - 1}:0] act_q;`);
    L.line(`${p.module}_rom_act u_act (.clk(clk), .addr(act_addr), .q(act_q));`);
    const actAddr = (table: string, z: string) => {
      const w = B + TB;
      const e = TB ? `{${table}, ${z}}` : z;
      return w === actAW ? e : `{${actAW - w}'d0, ${e}}`;
    };

    // ---- MAC stream issue: pass p, group gp, step k
    L.line('// ---- MAC streams: pass, group, reduction step; one issue per cycle');
    L.line('reg busy;');
    L.line(`reg [${PW - 1}:0] pp;`);
    L.line(`reg [${GW - 1}:0] gp;`);
    L.line(`reg [${KW - 1}:0] k;`);
    L.line(`reg [${waw - 1}:0] wa;`);
    L.line(`reg [${WTW - 1}:0] wt;`);
    L.line(`reg [${SLW - 1}:0] gslot;`);
    // Pass parameters.
    L.line(`reg [${KW - 1}:0] p_klast;`);
    L.line(`reg [${KW}:0] p_fx;`);
    L.line(`reg [${GW - 1}:0] p_glast;`);
    L.line(`reg [${RAW - 1}:0] p_off;`);
    L.line(`reg [${LW - 1}:0] p_lvlast;`);
    L.line(`reg [${WTW - 1}:0] p_win, p_wafter;`);
    L.line(`reg [${SLW - 1}:0] p_next;`);
    L.line('reg p_end;');
    L.line('always @(*) begin');
    L.indent(() => {
      L.line('case (pp)');
      L.indent(() => {
        s.passes.forEach((x, i) => {
          const next = s.passes[i + 1];
          const end = !next || next.stream !== x.stream;
          L.line(
            `${ulit(i, PW)}: begin p_klast = ${ulit(x.K - 1, KW)}; p_fx = ${ulit(x.Fx, KW + 1)}; p_glast = ${ulit(x.NG - 1, GW)}; p_off = ${lit(x.hbase >= 0 ? x.hbase - x.Fx : 0, RAW)}; ` +
              `p_lvlast = ${ulit(x.lvLast, LW)}; p_win = ${ulit(x.waitInner, WTW)}; p_wafter = ${ulit(x.waitAfter, WTW)}; p_next = ${ulit(x.slot0 + x.cols, SLW)}; p_end = 1'b${end ? 1 : 0}; end`,
          );
        });
        L.line(`default: begin p_klast = 0; p_fx = 0; p_glast = 0; p_off = 0; p_lvlast = 0; p_win = 0; p_wafter = 0; p_next = 0; p_end = 1'b1; end`);
      });
      L.line('endcase');
    });
    L.line('end');
    L.line(`wire hold = (wt != ${ulit(0, WTW)});`);
    L.line('wire iv0 = busy & ~hold;');
    L.line('wire k_last = (k == p_klast);');
    L.line('wire g_last = (gp == p_glast);');
    L.line('wire str_last = k_last & g_last & p_end;');
    L.line(`wire isx0 = ({1'b0, k} < p_fx);`);
    const first1 = s.passes.findIndex((x) => x.stream === 1);
    L.line('reg in1;');
    L.line('always @(posedge clk) begin');
    L.indent(() => {
      L.line("if (rst) busy <= 1'b0; else if (go0 | go1) busy <= 1'b1; else if (iv0 & str_last) busy <= 1'b0;");
      L.line(`if (go0) begin pp <= 0; gp <= 0; k <= 0; wa <= 0; wt <= 0; gslot <= 0; in1 <= 1'b0; end`);
      if (s.streams === 2) L.line(`else if (go1) begin pp <= ${ulit(first1, PW)}; gp <= 0; k <= 0; wt <= 0; gslot <= ${ulit(s.passes[first1].slot0, SLW)}; in1 <= 1'b1; end`);
      L.line('else if (iv0) begin');
      L.indent(() => {
        L.line(`wa <= wa + 1'b1;`);
        L.line(`if (!k_last) k <= k + 1'b1;`);
        L.line(`else begin k <= 0; wt <= str_last ? ${ulit(0, WTW)} : (g_last ? p_wafter : p_win); if (!g_last) begin gp <= gp + 1'b1; gslot <= gslot + ${ulit(lanes, SLW)}; end else begin gp <= 0; pp <= pp + 1'b1; gslot <= p_next; end end`);
      });
      L.line(`end else if (hold) wt <= wt - 1'b1;`);
    });
    L.line('end');
    L.line('assign rd0_en = iv0;');
    L.line('assign rd0_addr = xbase + k;');
    L.line('assign mac_ra = k + p_off;');

    // ---- weights: all lanes read one address; lanes packed into 16-bit words
    L.line(`wire [${waw - 1}:0] w_addr = wa;`);
    emitWeightRoms(L, roms, p, WB);

    // ---- S1: operand (x, or the state value; zero at the first step), flags
    L.line('reg v1, f1, t1, x1, z1;');
    L.line('always @(posedge clk) begin');
    L.indent(() => {
      L.line("if (rst) v1 <= 1'b0; else v1 <= iv0;");
      L.line('f1 <= (k == 0); t1 <= k_last; x1 <= isx0; z1 <= s_first & ~isx0;');
    });
    L.line('end');
    L.line(`wire [${XIB - 1}:0] xin = rd0_q;`);
    L.line(`wire [${XB - 1}:0] opd = x1 ? ${sext('xin', XIB, XB)} : (z1 ? ${XB}'d0 : ${sext('rm_q', B, XB)});`);
    // Ternary: the operand's code against its threshold (θ_x[k], then θ_h[k − features]), read at k.
    const code = ar.tern ? emitOperandCode(L, roms, p, op, XB, KW) : undefined;
    // The group's writer parameters, carried to the cycle its sums are complete (3 stages).
    L.line(`wire [${LW - 1}:0] lv0 = g_last ? p_lvlast : ${ulit(lanes, LW)};`);
    L.line(`reg [${LW - 1}:0] lv1, lv2, lv3;`);
    L.line(`reg [${SLW - 1}:0] sl1, sl2, sl3;`);
    L.line('reg fn1, fn2, fn3;');
    L.line('always @(posedge clk) begin');
    L.indent(() => {
      L.line('lv1 <= lv0; sl1 <= gslot; fn1 <= str_last;');
      L.line('lv2 <= lv1; sl2 <= sl1; fn2 <= fn1;');
      L.line('lv3 <= lv2; sl3 <= sl2; fn3 <= fn2;');
    });
    L.line('end');

    // ---- S2: products
    L.line('reg v2, f2, t2, x2;');
    L.line('always @(posedge clk) begin');
    L.indent(() => {
      L.line("if (rst) v2 <= 1'b0; else v2 <= v1;");
      L.line('f2 <= f1; t2 <= t1; x2 <= x1;');
    });
    L.line('end');
    const laneMuls = emitLaneProducts(L, p, ctx, WB, XB, code);
    dsp += laneMuls.dsp;
    lut += laneMuls.lut;
    // ---- S3: accumulators
    emitAccumulators(L, op, lanes, ar, XB);

    // ---- writer: W0 shift out, W1 bias read, W2 + bias, W3 requantized, W4 activation -> slot
    L.line('// ---- writer');
    L.line('reg wact, wfin;');
    L.line(`reg [${LW - 1}:0] wl, wlv;`);
    L.line(`reg [${SLW - 1}:0] wn;`);
    for (let l = 0; l < lanes; l++) L.line(`reg [${ACW - 1}:0] sh${l};`);
    L.line(`wire wmore = (wl != wlv - 1'b1);`);
    L.line('always @(posedge clk) begin');
    L.indent(() => {
      L.line("if (rst) wact <= 1'b0;");
      L.line('else if (gdone) begin');
      L.indent(() => {
        L.line("wact <= 1'b1; wl <= 0; wlv <= lv3; wn <= sl3; wfin <= fn3;");
        for (let l = 0; l < lanes; l++) L.line(`sh${l} <= acc${l};`);
      });
      L.line('end else if (wact) begin');
      L.indent(() => {
        L.line("wact <= wmore; wl <= wl + 1'b1; wn <= wn + 1'b1;");
        for (let l = 0; l + 1 < lanes; l++) L.line(`sh${l} <= sh${l + 1};`);
      });
      L.line('end');
    });
    L.line('end');
    L.line('wire wlast0 = wact & wfin & ~wmore;');
    L.line(`reg [${ACW - 1}:0] wv1;`);
    const sum = emitWriterSum(L, roms, p, ctx, op, ar, SLW);
    dsp += sum.dsp;
    lut += sum.lut;
    L.line(`reg [${sum.bits - 1}:0] wm2;`);
    L.line(`reg [${B - 1}:0] wz3, wz4;`);
    L.line(`reg [${SLW - 1}:0] wn1, wn2, wn3, wn4;`);
    L.line('reg we1, we2, we3, we4, wf1, wf2, wf3, wf4, wb4;');
    const zq = emitRequantize(L, 'wq', 'wm2', sum.bits, op.productFrac - fo, O, { relu: false });
    // The slot's table (and whether it has none: GRU reset_after's qx, qh).
    const ranges = (want: (t: number) => boolean): string => {
      const parts: string[] = [];
      let i = 0;
      while (i < s.slots) {
        if (!want(s.slotTable[i])) {
          i++;
          continue;
        }
        let j = i;
        while (j + 1 < s.slots && want(s.slotTable[j + 1])) j++;
        parts.push(`(wn3 >= ${ulit(i, SLW)} && wn3 <= ${ulit(j, SLW)})`);
        i = j + 1;
      }
      return parts.length ? parts.join(' || ') : "1'b0";
    };
    L.line(`wire w_byp = ${ranges((t) => t < 0)};`);
    L.line(`wire w_tab = ${TB ? ranges((t) => t === 1) : "1'b0"};`);
    L.line(`assign wr_aa = ${actAddr('w_tab', 'wz3')};`);
    L.line('always @(posedge clk) begin');
    L.indent(() => {
      L.line("if (rst) begin we1 <= 1'b0; we2 <= 1'b0; we3 <= 1'b0; we4 <= 1'b0; wf1 <= 1'b0; wf2 <= 1'b0; wf3 <= 1'b0; wf4 <= 1'b0; end");
      L.line('else begin we1 <= wact; we2 <= we1; we3 <= we2; we4 <= we3; wf1 <= wlast0; wf2 <= wf1; wf3 <= wf2; wf4 <= wf3; end');
      L.line(`wv1 <= sh0; wn1 <= wn; wm2 <= ${sum.expr}; wn2 <= wn1; wz3 <= ${zq}; wn3 <= wn2; wz4 <= wz3; wn4 <= wn3; wb4 <= w_byp;`);
    });
    L.line('end');
    L.line('assign wr4_we = we4;');
    L.line(`assign wr4_addr = ${SLW >= RAW ? `wn4[${RAW - 1}:0]` : `{${RAW - SLW}'d0, wn4}`};`);
    L.line('assign wr4_d = wb4 ? wz4 : act_q;');
    L.line("wire sfin = we4 & wf4;");
    L.line('assign str_fin0 = sfin & ~in1;');
    L.line(`assign str_fin1 = ${s.streams === 2 ? 'sfin & in1' : "1'b0"};`);

    // ---- unit phases: GRU's reset (mode 0) and the cell update (mode 1), one unit after another
    const cu = s.unitCycles;
    const cr = s.resetCycles;
    const CSW = clog2(Math.max(cu, cr, 2));
    const UW = clog2(u);
    L.line('// ---- unit phases: the cell update (and GRU reset_after false\'s r*h), a micro-program per unit');
    L.line('reg uphase, cmode;');
    L.line(`reg [${CSW - 1}:0] cs;`);
    L.line(`reg [${UW - 1}:0] j;`);
    L.line('assign uact = uphase;');
    L.line(`wire cs_last = cmode ? (cs == ${ulit(cu - 1, CSW)}) : (cs == ${ulit(Math.max(cr, 1) - 1, CSW)});`);
    L.line(`wire u_last = uphase & cs_last & (j == ${ulit(u - 1, UW)});`);
    L.line('assign cell_fin = u_last & cmode;');
    L.line(`assign rs_fin = u_last & ~cmode;`);
    L.line('always @(posedge clk) begin');
    L.indent(() => {
      L.line("if (rst) uphase <= 1'b0;");
      L.line("else if (cell_go | rs_go) begin uphase <= 1'b1; cmode <= cell_go; cs <= 0; j <= 0; end");
      L.line("else if (uphase) begin if (cs_last) begin cs <= 0; j <= j + 1'b1; if (j == " + ulit(u - 1, UW) + ") uphase <= 1'b0; end else cs <= cs + 1'b1; end");
    });
    L.line('end');
    // Registers of the micro-programs, the multiplier and its sum.
    const H = op.blendShiftH;
    const P2 = op.blendShiftP;
    const MW = 2 * (B + 1) + 1 + Math.max(H, P2, 0);
    L.line(`reg [${B - 1}:0] ra, rb, rc, rd, re;`);
    L.line(`reg [${B}:0] ma, mb;`);
    L.line(`wire [${2 * B + 1}:0] mp = ${lutMultiply('ma', B + 1, 'mb', B + 1, 2 * B + 2)};`);
    lut++;
    L.line(`reg [${MW - 1}:0] macc;`);
    // Requantizers of the sum: from 2·fo (products of two stored values) and from F (GRU's blend).
    const rq2 = emitRequantize(L, 'cq2', 'macc', MW, 2 * fo - fo, O, { relu: false });
    const rqF = op.cell === 'gru' ? emitRequantize(L, 'cqf', 'macc', MW, op.blendFrac - fo, O, { relu: false }) : rq2;
    L.line(`wire [${B}:0] hdiff = ${sext('rc', B, B + 1)} - ${sext('rd', B, B + 1)};`);
    L.line(`wire [${B - 1}:0] rqv = rm_q;`);
    const uj = (base: number) => `(${ulit(base, RAW)} + j)`;
    const zero = (v: string) => `(s_first ? ${B}'d0 : ${v})`;
    // Each micro-program: per cycle, the read address, the assignments, the multiplier operands, the act address, a write.
    interface Cycle { rd?: string; set?: string[]; mul?: [string, string]; aa?: string; wr?: { addr: string; data: string; out?: boolean } }
    let prog: Cycle[];
    let reset: Cycle[] = [];
    const sxt = (r: string, bits = B) => sext(r, bits, B + 1);
    if (op.cell === 'lstm') {
      // ra f, rb c, rc i, rd g, re o
      prog = [
        { rd: uj(u) },
        { rd: uj(s.cAddr), set: ['ra <= rqv;'] },
        { rd: uj(0), set: [`rb <= ${zero('rqv')};`] },
        { rd: uj(2 * u), set: ['rc <= rqv;'], mul: ['ra', 'rb'] },
        { rd: uj(3 * u), set: ['rd <= rqv;'] },
        { set: ['re <= rqv;', 'macc <= macc + ' + shl('mp', 2 * B + 2, 0, MW) + ';'], mul: ['rc', 'rd'] },
        { aa: actAddr(`1'b${s.actTable}`, rq2), wr: { addr: uj(s.cAddr), data: rq2 } },
        { set: ['macc <= ' + shl('mp', 2 * B + 2, 0, MW) + ';'], mul: ['re', 'act_q'] },
        { wr: { addr: uj(s.hAddr), data: rq2, out: true } },
      ];
      // cycle 3 starts the sum with f·c
      prog[3].set!.push('macc <= ' + shl('mp', 2 * B + 2, 0, MW) + ';');
    } else if (op.cell === 'simple_rnn') {
      prog = [{ rd: uj(0) }, { wr: { addr: uj(s.hAddr), data: 'rqv', out: true } }];
    } else if (!after) {
      // ra z, rb hh, rc h, rd hh (for the difference)
      const blend = `macc <= ${shl('rd', B, H, MW)} + ${shl('mp', 2 * B + 2, P2, MW)};`;
      prog = [
        { rd: uj(0) },
        { rd: uj(2 * u), set: ['ra <= rqv;'] },
        { rd: uj(s.hAddr), set: ['rd <= rqv;'] },
        { set: [`rc <= ${zero('rqv')};`] },
        { set: [blend], mul: ['ra', 'hdiff'] },
        { wr: { addr: uj(s.hAddr), data: rqF, out: true } },
      ];
      // reset phase: rh = r·h (ra r, rb h)
      reset = [
        { rd: uj(u) },
        { rd: uj(s.hAddr), set: ['ra <= rqv;'] },
        { set: [`rb <= ${zero('rqv')};`] },
        { set: ['macc <= ' + shl('mp', 2 * B + 2, 0, MW) + ';'], mul: ['ra', 'rb'] },
        { wr: { addr: uj(s.rhAddr), data: rq2 } },
      ];
    } else {
      // ra r, rb qx, re qh, rd z -> later hh, rc h
      prog = [
        { rd: uj(u) },
        { rd: uj(2 * u), set: ['ra <= rqv;'] },
        { rd: uj(3 * u), set: ['rb <= rqv;'] },
        { rd: uj(0), set: ['re <= rqv;'] },
        { rd: uj(s.hAddr), set: ['rd <= rqv;', `macc <= ${shl('rb', B, H, MW)} + ${shl('mp', 2 * B + 2, P2, MW)};`], mul: ['ra', 're'] },
        { set: [`rc <= ${zero('rqv')};`, 'ra <= rd;'], aa: actAddr(`1'b${s.actTable}`, rqF) },
        { set: ['rd <= act_q;'] },
        { set: [`macc <= ${shl('rd', B, H, MW)} + ${shl('mp', 2 * B + 2, P2, MW)};`], mul: ['ra', 'hdiff'] },
        { wr: { addr: uj(s.hAddr), data: rqF, out: true } },
      ];
    }
    if (prog.length !== cu) throw new Error(`recurrent engine: ${op.cell} micro-program has ${prog.length} cycles, the schedule says ${cu}`);
    if (reset.length !== cr) throw new Error(`recurrent engine: reset micro-program has ${reset.length} cycles, the schedule says ${cr}`);
    const mode = (m: number, c: number) => `${ulit(m, 1)}, ${ulit(c, CSW)}`;
    const both: [number, Cycle[]][] = [[1, prog], [0, reset]];
    // Read address, multiplier operands, act address: combinational per (mode, cycle).
    L.line(`reg [${RAW - 1}:0] c_ra;`);
    L.line(`reg [${actAW - 1}:0] c_aa;`);
    L.line('reg c_we, c_out;');
    L.line(`reg [${RAW - 1}:0] c_wa;`);
    L.line(`reg [${B - 1}:0] c_wd;`);
    L.line('always @(*) begin');
    L.indent(() => {
      L.line(`c_ra = 0; c_aa = 0; c_we = 1'b0; c_out = 1'b0; c_wa = 0; c_wd = 0; ma = 0; mb = 0;`);
      L.line('case ({cmode, cs})');
      L.indent(() => {
        for (const [m, pr] of both) {
          pr.forEach((c, i) => {
            const parts: string[] = [];
            if (c.rd) parts.push(`c_ra = ${c.rd};`);
            if (c.aa) parts.push(`c_aa = ${c.aa};`);
            if (c.mul) parts.push(`ma = ${c.mul[0] === 'hdiff' ? 'hdiff' : sxt(c.mul[0])}; mb = ${c.mul[1] === 'hdiff' ? 'hdiff' : sxt(c.mul[1])};`);
            if (c.wr) parts.push(`c_we = 1'b1; c_wa = ${c.wr.addr}; c_wd = ${c.wr.data};${c.wr.out ? " c_out = 1'b1;" : ''}`);
            if (parts.length) L.line(`{${mode(m, i)}}: begin ${parts.join(' ')} end`);
          });
        }
        L.line('default: ;');
      });
      L.line('endcase');
    });
    L.line('end');
    L.line('assign cell_ra = c_ra;');
    L.line('assign cell_aa = c_aa;');
    L.line('assign cell_we = uphase & c_we;');
    L.line('assign cell_wa = c_wa;');
    L.line('assign cell_wd = c_wd;');
    L.line('always @(posedge clk) begin');
    L.indent(() => {
      L.line('if (uphase) begin');
      L.indent(() => {
        L.line('case ({cmode, cs})');
        L.indent(() => {
          for (const [m, pr] of both) {
            pr.forEach((c, i) => {
              if (c.set?.length) L.line(`{${mode(m, i)}}: begin ${c.set.join(' ')} end`);
            });
          }
          L.line('default: ;');
        });
        L.line('endcase');
      });
      L.line('end');
    });
    L.line('end');
    // The output: h of every step (return_sequences) or of the last.
    L.line(`assign wr_en = uphase & cmode & c_out${op.returnSequences ? '' : ' & s_last'};`);
    L.line(`assign wr_addr = obase + j;`);
    L.line('assign wr_data = c_wd;');
  });
  L.line('endmodule');
  const romText = roms.map((r) => romModule(r.module, r.width, r.depth, r.file, r.memory === 'logic')).join('\n');
  return { plan: p, verilog: L.toString() + '\n' + romText, roms, reads, writeAddrBits, writeBits: B, dspMultipliers: dsp, lutMultipliers: lut };
}
