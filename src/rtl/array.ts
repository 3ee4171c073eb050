/**
 * The shared MAC array (`architecture: array`): one set of lanes, weight ROMs, accumulators and
 * shadow registers that every MAC engine drives in turn.
 *
 * The engines run one after the other (src/rtl/top.ts), so in the per-layer design the lanes of every
 * layer but one sit idle at any moment. Here a MAC engine keeps only what is its own — the loop nest,
 * the address registers, the output-address delay line and the writer (bias, scale, requantize,
 * activation) — and the datapath between them is one module:
 *
 *   S0  the active engine drives the weight address (its layer's words start at `bases[module]` in
 *       the shared ROMs); idle engines drive zeros, so the top ORs the engines' ports together
 *   S1  ROM words and the engine's operands (zero unless valid) arrive
 *   S2  one product register per lane (SB_MAC16, LUT multiplier, or add/sub for ternary weights)
 *   S2b adder tree over the lanes, for layers that unroll their reduction
 *   acc accumulators; on a group's last step they are copied to shadow registers, which the active
 *       engine's writer shifts out one per cycle (`wsh`)
 *
 * The pipeline has the per-layer engines' depths (D_MAC direct, D_MAC_TREE through the tree), so the
 * cycle formula of src/rtl/cycles.ts holds unchanged. Widths are the widest layer's; a narrower layer
 * takes the low bits of the shadow (sums wrap modulo 2^accBits, and a wider sum truncated is the same
 * sum), products are exact at any width, so every layer stays bit-exact with the C model.
 */
import { sumGroup, type EnginePlan } from './plan';
import type { QMac } from '../qmodel/lower';
import { lutMultiply, romDepth, romModule, ROM_MAX_WIDTH, type RomImage } from './primitives';
import { clog2, hexImage, Lines, sext } from './verilog';

export const ARRAY_MODULE = 'dm_array';
export const DUAL_MODULE = 'dm_mul8x8x2';

/**
 * Two signed 8x8 products per SB_MAC16 (MODE_8x8; the top multiplier takes the high bytes of A and B,
 * the bottom one the low bytes; each product registered in the block: TOP/BOT_8x8_MULT_REG, output
 * select 2'b10). The synth stage reads the Verilog with DM_ICE40 defined; anything else (the RTL
 * simulators, another vendor's tool) gets the same registered products in plain Verilog.
 */
export const DUAL_VERILOG = `// Two signed 8x8 products, registered: one SB_MAC16 in its 8x8 mode under DM_ICE40, plain Verilog otherwise.
module dm_mul8x8x2 (input wire clk, input wire [7:0] a0, input wire [7:0] b0, input wire [7:0] a1, input wire [7:0] b1, output wire [15:0] p0, output wire [15:0] p1);
\`ifdef DM_ICE40
  wire [31:0] o;
  DM_SB_MAC16 #(.MODE_8x8(1'b1), .A_SIGNED(1'b1), .B_SIGNED(1'b1), .TOP_8x8_MULT_REG(1'b1), .BOT_8x8_MULT_REG(1'b1),
    .TOPOUTPUT_SELECT(2'b10), .BOTOUTPUT_SELECT(2'b10)) u_mac (
    .CLK(clk), .CE(1'b1), .A({a1, a0}), .B({b1, b0}), .C(16'd0), .D(16'd0),
    .AHOLD(1'b0), .BHOLD(1'b0), .CHOLD(1'b0), .DHOLD(1'b0), .IRSTTOP(1'b0), .IRSTBOT(1'b0), .ORSTTOP(1'b0), .ORSTBOT(1'b0),
    .OLOADTOP(1'b0), .OLOADBOT(1'b0), .ADDSUBTOP(1'b0), .ADDSUBBOT(1'b0), .OHOLDTOP(1'b0), .OHOLDBOT(1'b0),
    .CI(1'b0), .ACCUMCI(1'b0), .SIGNEXTIN(1'b0), .O(o));
  assign p1 = o[31:16];
  assign p0 = o[15:0];
\`else
  reg [15:0] r0, r1;
  always @(posedge clk) begin
    r0 <= $signed(a0) * $signed(b0);
    r1 <= $signed(a1) * $signed(b1);
  end
  assign p0 = r0;
  assign p1 = r1;
\`endif
endmodule
\`ifdef DM_ICE40
// SB_MAC16 under another name until synth_ice40 is done (src/fpga/synth.ts: ice40_dsp would rewrite an SB_MAC16 as 16x16).
(* blackbox *)
module DM_SB_MAC16 (input CLK, input CE, input [15:0] C, input [15:0] A, input [15:0] B, input [15:0] D,
  input AHOLD, input BHOLD, input CHOLD, input DHOLD, input IRSTTOP, input IRSTBOT, input ORSTTOP, input ORSTBOT,
  input OLOADTOP, input OLOADBOT, input ADDSUBTOP, input ADDSUBBOT, input OHOLDTOP, input OHOLDBOT,
  input CI, input ACCUMCI, input SIGNEXTIN, output [31:0] O, output CO, output ACCUMCO, output SIGNEXTOUT);
  parameter [0:0] NEG_TRIGGER = 0;
  parameter [0:0] C_REG = 0;
  parameter [0:0] A_REG = 0;
  parameter [0:0] B_REG = 0;
  parameter [0:0] D_REG = 0;
  parameter [0:0] TOP_8x8_MULT_REG = 0;
  parameter [0:0] BOT_8x8_MULT_REG = 0;
  parameter [0:0] PIPELINE_16x16_MULT_REG1 = 0;
  parameter [0:0] PIPELINE_16x16_MULT_REG2 = 0;
  parameter [1:0] TOPOUTPUT_SELECT = 0;
  parameter [1:0] TOPADDSUB_LOWERINPUT = 0;
  parameter [0:0] TOPADDSUB_UPPERINPUT = 0;
  parameter [1:0] TOPADDSUB_CARRYSELECT = 0;
  parameter [1:0] BOTOUTPUT_SELECT = 0;
  parameter [1:0] BOTADDSUB_LOWERINPUT = 0;
  parameter [0:0] BOTADDSUB_UPPERINPUT = 0;
  parameter [1:0] BOTADDSUB_CARRYSELECT = 0;
  parameter [0:0] MODE_8x8 = 0;
  parameter [0:0] A_SIGNED = 0;
  parameter [0:0] B_SIGNED = 0;
endmodule
\`endif
`;

export interface ArraySpec {
  /** Lanes of the array (the most any MAC engine uses). */
  lanes: number;
  /** Weight bits of a lane (2-bit sign-magnitude codes when `ternary`). */
  wBits: number;
  /** Operand bits of a lane. */
  xBits: number;
  /** Accumulator bits (the widest layer's). */
  accBits: number;
  /** Accumulators and shadow registers (the most outputs any engine produces per group). */
  accs: number;
  /** Every MAC layer is ternary: the lanes add, subtract or skip. */
  ternary: boolean;
  /** Some layer sums its lanes through the adder tree. */
  tree: boolean;
  /** Group sizes R of the layers with unroll both: accumulator o sums lanes o·R … o·R + R − 1 (one port s<R> each). */
  sums: number[];
  /** First shared-ROM word of each MAC engine's weights. */
  bases: Map<string, number>;
  /** Words of the shared ROMs. */
  words: number;
  addrBits: number;
  /** Lanes on SB_MAC16s (the rest are LUT lanes). */
  dspLanes: number;
  /** Two lanes per SB_MAC16 (its 8x8 mode: operands of at most 8 bits), else one. */
  dual: boolean;
  /** SB_MAC16 blocks the lanes take. */
  dspBlocks: number;
  /** Some MAC engine reads one operand for all its lanes (port `xb`, XB bits: the OR over those engines is narrow). */
  broadcast: boolean;
  /** Some MAC engine reads an operand per lane from a banked buffer (port `x`, lanes x XB bits). */
  perLane: boolean;
}

/** Does a MAC engine read one operand per lane (a banked buffer), rather than one for all lanes? */
export function readsPerLane(p: EnginePlan): boolean {
  return p.reads[0]?.mode === 'lanes' && p.lanes > 1;
}

function macOf(p: EnginePlan): QMac {
  if (p.op.kind !== 'mac') throw new Error(`${p.module} is not a MAC engine`);
  return p.op;
}

/** Does a MAC engine sum its lanes through the adder tree? */
export function usesTree(p: EnginePlan): boolean {
  return p.directive.unroll === 'reduction' && p.lanes > 1;
}

/** The array every MAC engine of `plans` can run on, with up to `dsp` SB_MAC16 lanes. */
export function planArray(plans: EnginePlan[], dsp: number): ArraySpec | undefined {
  const macs = plans.filter((p) => p.kind === 'mac');
  if (macs.length === 0) return undefined;
  const ternary = macs.every((p) => !!macOf(p).ternaryScale);
  const wBits = ternary ? 2 : Math.max(2, ...macs.map((p) => (macOf(p).ternaryScale ? 2 : macOf(p).weightFormat.bits)));
  const xBits = Math.max(...macs.map((p) => macOf(p).inFormat.bits));
  const bases = new Map<string, number>();
  let words = 0;
  for (const p of macs) {
    bases.set(p.module, words);
    words += p.weightBanks![0].length;
  }
  const lanes = Math.max(...macs.map((p) => p.lanes));
  const pb = ternary ? xBits + 1 : wBits + xBits;
  // Operands of at most 8 bits: two lanes per SB_MAC16 in its 8x8 mode (dm_mul8x8x2). Wider: one lane
  // per block, where Yosys maps a product of 11 bits or more to an SB_MAC16 (16x16 operands).
  const dual = !ternary && wBits <= 8 && xBits <= 8 && dsp > 0;
  const dspLanes = dual ? Math.min(lanes, 2 * dsp) : !ternary && wBits <= 16 && xBits <= 16 && pb >= 11 ? Math.min(lanes, dsp) : 0;
  return {
    lanes,
    wBits,
    xBits,
    accBits: Math.max(...macs.map((p) => macOf(p).accBits)),
    accs: Math.max(...macs.map((p) => p.accs)),
    ternary,
    tree: macs.some(usesTree),
    sums: [...new Set(macs.filter((p) => (p.directive.unroll === 'both' || p.directive.unroll === 'window') && !usesTree(p)).map(sumGroup))].sort((a, b) => a - b),
    bases,
    words,
    addrBits: clog2(romDepth(words)),
    dspLanes,
    dual,
    dspBlocks: dual ? Math.ceil(dspLanes / 2) : dspLanes,
    broadcast: macs.some((p) => !readsPerLane(p)),
    perLane: macs.some(readsPerLane),
  };
}

/** Width and depth of each shared weight ROM (as emitArray builds them). */
export function arrayRomGeometry(s: ArraySpec): { width: number; depth: number }[] {
  const perRom = Math.max(1, Math.floor(ROM_MAX_WIDTH / s.wBits));
  const out: { width: number; depth: number }[] = [];
  for (let first = 0; first < s.lanes; first += perRom) out.push({ width: s.wBits * Math.min(perRom, s.lanes - first), depth: romDepth(s.words) });
  return out;
}

/** Product bits of a lane. */
export function productBits(s: ArraySpec): number {
  return s.ternary ? s.xBits + 1 : s.wBits + s.xBits;
}

export interface ArrayModule {
  verilog: string;
  roms: RomImage[];
  dspMultipliers: number;
  lutMultipliers: number;
}

export function emitArray(s: ArraySpec, plans: EnginePlan[]): ArrayModule {
  const P = s.lanes;
  const WB = s.wBits;
  const XB = s.xBits;
  const A = s.accBits;
  const PB = productBits(s);
  const roms: RomImage[] = [];
  const L = new Lines();
  const macs = plans.filter((p) => p.kind === 'mac');
  L.line(`// Shared MAC array: ${P} lanes (${s.dspLanes} on SB_MAC16), ${s.ternary ? 'ternary add/sub' : `${WB}x${XB}-bit products`}, ${s.accs} accumulators of ${A} bits; weights of ${macs.length} layers in ${s.words} words.`);
  L.line(`module ${ARRAY_MODULE} (`);
  L.indent(() => {
    L.lines([
      'input wire clk,',
      'input wire rst,',
      `input wire [${s.addrBits - 1}:0] waddr,`,
      ...(s.perLane ? [`input wire [${P * XB - 1}:0] x,`] : []),
      ...(s.broadcast ? [`input wire [${XB - 1}:0] xb,`] : []),
      'input wire v1,',
      'input wire f1,',
      'input wire t1,',
      'input wire e1,',
      'input wire red1,',
      ...s.sums.map((r) => `input wire s${r}1,`),
      'input wire wsh,',
      `output wire [${A - 1}:0] sh0,`,
      'output reg gdone,',
      'output reg gfinal',
    ]);
  });
  L.line(');');
  let dsp = 0;
  let lut = 0;
  L.indent(() => {
    // Shared weight ROMs: as many lanes per 16-bit word as fit; each layer's words at its base.
    const perRom = Math.max(1, Math.floor(ROM_MAX_WIDTH / WB));
    const code = (v: number) => (s.ternary ? (v === 0 ? 0 : v === 1 ? 1 : 3) : v);
    for (let first = 0, r = 0; first < P; first += perRom, r++) {
      const group = Math.min(perRom, P - first);
      const words: bigint[] = new Array(s.words).fill(0n);
      for (const p of macs) {
        const base = s.bases.get(p.module)!;
        const banks = p.weightBanks!;
        for (let a = 0; a < banks[0].length; a++) {
          let w = 0n;
          for (let g = group - 1; g >= 0; g--) {
            const lane = first + g;
            const v = lane < p.lanes ? code(banks[lane][a]) : 0;
            w = (w << BigInt(WB)) | BigInt.asUintN(WB, BigInt(v));
          }
          words[base + a] = w;
        }
      }
      const width = WB * group;
      const depth = romDepth(words.length);
      const module = `${ARRAY_MODULE}_rom_w${r}`;
      const file = `${ARRAY_MODULE}_w${r}.hex`;
      roms.push({ file, module, role: 'weights', width, depth, words: words.length, contents: hexImage(words, width, depth), memory: 'ebr' });
      L.line(`wire [${width - 1}:0] wrom${r};`);
      L.line(`${module} u_w${r} (.clk(clk), .addr(waddr), .q(wrom${r}));`);
      for (let g = 0; g < group; g++) L.line(`wire [${WB - 1}:0] wq${first + g} = wrom${r}[${(g + 1) * WB - 1}:${g * WB}];`);
    }
    // A lane's operand: its own (banked reads) or the one every lane shares; the idle port is zero. A lane a
    // layer does not use multiplies a zero weight.
    for (let l = 0; l < P; l++) L.line(`wire [${XB - 1}:0] x${l} = ${[...(s.perLane ? [`x[${(l + 1) * XB - 1}:${l * XB}]`] : []), ...(s.broadcast ? ['xb'] : [])].join(' | ')};`);
    L.line(`reg v2, f2, t2, e2, red2${s.sums.map((r) => `, s${r}2`).join('')};`);
    L.line('always @(posedge clk) begin');
    L.indent(() => {
      L.line("if (rst) v2 <= 1'b0; else v2 <= v1;");
      L.line(`f2 <= f1; t2 <= t1; e2 <= e1; red2 <= red1;${s.sums.map((r) => ` s${r}2 <= s${r}1;`).join('')}`);
    });
    L.line('end');
    // S2: products. Dual lanes: two per SB_MAC16, the product register inside the block.
    if (s.dual) {
      for (let b = 0; b < s.dspBlocks; b++) {
        const op = (l: number, v: string, bits: number) => (l < s.dspLanes ? sext(v, bits, 8) : "8'd0");
        L.line(`wire [15:0] mp${2 * b}, mp${2 * b + 1};`);
        L.line(
          `${DUAL_MODULE} u_mul${b} (.clk(clk), .a0(${op(2 * b, `wq${2 * b}`, WB)}), .b0(${op(2 * b, `x${2 * b}`, XB)}), .a1(${op(2 * b + 1, `wq${2 * b + 1}`, WB)}), .b1(${op(2 * b + 1, `x${2 * b + 1}`, XB)}), .p0(mp${2 * b}), .p1(mp${2 * b + 1}));`,
        );
      }
    }
    for (let l = 0; l < P; l++) {
      if (s.dual && l < s.dspLanes) {
        L.line(`wire [${PB - 1}:0] prod${l} = mp${l}[${PB - 1}:0];`);
        dsp++;
        continue;
      }
      L.line(`(* keep *) reg [${PB - 1}:0] prod${l};`);
      if (s.ternary) {
        L.line(`wire [${PB - 1}:0] xe${l} = ${sext(`x${l}`, XB, PB)};`);
        L.line(`always @(posedge clk) prod${l} <= wq${l}[0] ? (wq${l}[1] ? -xe${l} : xe${l}) : ${PB}'d0;`);
      } else if (l < s.dspLanes) {
        L.line(`(* keep *) wire [${PB - 1}:0] mul${l} = $signed(wq${l}) * $signed(x${l});`);
        L.line(`always @(posedge clk) prod${l} <= mul${l};`);
        dsp++;
      } else {
        L.line(`always @(posedge clk) prod${l} <= ${PB >= 11 ? lutMultiply(`wq${l}`, WB, `x${l}`, XB, PB) : `$signed(wq${l}) * $signed(x${l})`};`);
        lut++;
      }
    }
    const term = (l: number) => sext(`prod${l}`, PB, A);
    for (let k = 0; k < s.accs; k++) L.line(`reg [${A - 1}:0] acc${k};`);
    // S2b: the adder tree (reduction layers, red2) and the group sums (unroll both, s<R>2), one cycle.
    const summed = s.tree || s.sums.length > 0;
    const sum2 = [...(s.tree ? ['red2'] : []), ...s.sums.map((r) => `s${r}2`)].join(' | ');
    const groups = (r: number) => Math.min(Math.floor(P / r), s.accs);
    if (summed) {
      if (s.tree) L.line(`reg [${A - 1}:0] tsum;`);
      for (const r of s.sums) for (let o = 0; o < groups(r); o++) L.line(`reg [${A - 1}:0] gs${r}_${o};`);
      L.line(`reg v3, f3, t3, e3, red3${s.sums.map((r) => `, s${r}3`).join('')};`);
      L.line('always @(posedge clk) begin');
      L.indent(() => {
        L.line(`if (rst) v3 <= 1'b0; else v3 <= v2 & (${sum2});`);
        L.line(`f3 <= f2; t3 <= t2; e3 <= e2; red3 <= red2;${s.sums.map((r) => ` s${r}3 <= s${r}2;`).join('')}`);
        if (s.tree) L.line(`tsum <= ${Array.from({ length: P }, (_, l) => term(l)).join(' + ')};`);
        for (const r of s.sums) for (let o = 0; o < groups(r); o++) L.line(`gs${r}_${o} <= ${Array.from({ length: r }, (_, i) => term(o * r + i)).join(' + ')};`);
      });
      L.line('end');
    }
    L.line('always @(posedge clk) begin');
    L.indent(() => {
      L.line(`if (v2${summed ? ` & ~(${sum2})` : ''}) begin`);
      L.indent(() => {
        for (let k = 0; k < s.accs; k++) L.line(`acc${k} <= f2 ? ${term(k)} : acc${k} + ${term(k)};`);
      });
      L.line('end');
      if (s.tree) L.line('if (v3 & red3) acc0 <= f3 ? tsum : acc0 + tsum;');
      for (const r of s.sums) {
        L.line(`if (v3 & s${r}3) begin`);
        L.indent(() => {
          for (let o = 0; o < groups(r); o++) L.line(`acc${o} <= f3 ? gs${r}_${o} : acc${o} + gs${r}_${o};`);
        });
        L.line('end');
      }
      if (summed) {
        L.line(`if (rst) gdone <= 1'b0; else gdone <= (v2 & t2 & ~(${sum2})) | (v3 & t3);`);
        L.line('gfinal <= v3 ? e3 : e2;');
      } else {
        L.line("if (rst) gdone <= 1'b0; else gdone <= v2 & t2;");
        L.line('gfinal <= e2;');
      }
    });
    L.line('end');
    // Shadows: loaded when a group completes, shifted by the active engine's writer.
    for (let k = 0; k < s.accs; k++) L.line(`reg [${A - 1}:0] shr${k};`);
    L.line('always @(posedge clk) begin');
    L.indent(() => {
      L.line(`if (gdone) begin ${Array.from({ length: s.accs }, (_, k) => `shr${k} <= acc${k};`).join(' ')} end`);
      if (s.accs > 1) L.line(`else if (wsh) begin ${Array.from({ length: s.accs - 1 }, (_, k) => `shr${k} <= shr${k + 1};`).join(' ')} end`);
    });
    L.line('end');
    L.line('assign sh0 = shr0;');
  });
  L.line('endmodule');
  const romText = roms.map((r) => romModule(r.module, r.width, r.depth, r.file)).join('\n');
  return { verilog: L.toString() + '\n' + (s.dual ? DUAL_VERILOG + '\n' : '') + romText, roms, dspMultipliers: dsp, lutMultipliers: lut };
}
