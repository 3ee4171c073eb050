/**
 * Pieces the engines (src/rtl/engines.ts) and the shared MAC array (src/rtl/array.ts) both build
 * from: ROM images and their modules, the LUT multiplier, and which lanes' products go to DSPs.
 */
import type { MultiplierKind } from './directives';
import { clog2, sext } from './verilog';

/**
 * How a MAC lane's product is built. An SB_MAC16 takes 16x16 operands and Yosys maps products of 11
 * bits or more (DSP_Y_MINWIDTH) to it: lane l uses a DSP while the engine's budget lasts. Narrow
 * products stay `*` (Yosys builds them from LUTs); only wide ones without a DSP, or any with
 * multiplier: lut, get the explicit LUT form.
 */
export function laneMultipliers(multiplier: MultiplierKind, dspBudget: number, weightBits: number, operandBits: number, productBits: number): { useDsp: (l: number) => boolean; lutForm: (l: number) => boolean } {
  const dspFits = weightBits <= 16 && operandBits <= 16;
  const useDsp = (l: number) => multiplier !== 'lut' && l < dspBudget && dspFits && productBits >= 11;
  return { useDsp, lutForm: (l: number) => !useDsp(l) && (multiplier === 'lut' || productBits >= 11) };
}

export interface RomImage {
  /** File name (beside the Verilog; $readmemh reads it relative to the working directory). */
  file: string;
  /** The ROM's own module. */
  module: string;
  role: 'weights' | 'bias' | 'scale' | 'threshold' | 'activation';
  width: number;
  /** Words; EBR images are padded to a multiple of 256 (icebram swaps whole EBR images). */
  depth: number;
  words: number;
  contents: string;
  /** ebr: initialised block RAM (icebram can swap it in a bitstream); logic: a small table in LUTs (needs resynthesis). */
  memory: 'ebr' | 'logic';
}

/** Icebram swaps initialised EBR contents word for word; ROM images are padded to whole 256-word blocks. */
export const ROM_WORD_BLOCK = 256;

export function romDepth(words: number): number {
  return Math.max(ROM_WORD_BLOCK, Math.ceil(words / ROM_WORD_BLOCK) * ROM_WORD_BLOCK);
}

/** ROM word width limit: EBR words are at most 16 bits, and icebram swaps images word for word. */
export const ROM_MAX_WIDTH = 16;

/**
 * Module text of one ROM (a module per image: the file name is a literal, which every tool accepts).
 * `logic`: (* rom_style = "logic" *) keeps a small table out of EBR.
 */
export function romModule(name: string, width: number, depth: number, file: string, logic = false): string {
  const aw = clog2(depth);
  return [
    `// ${file}: ${depth} x ${width} bits, read on the clock edge (${logic ? 'logic' : 'EBR'}).`,
    `module ${name} (input wire clk, input wire [${aw - 1}:0] addr, output reg [${width - 1}:0] q);`,
    `  ${logic ? '(* rom_style = "logic" *) ' : ''}reg [${width - 1}:0] mem [0:${depth - 1}];`,
    `  initial $readmemh("${file}", mem);`,
    '  always @(posedge clk) q <= mem[addr];',
    'endmodule',
    '',
  ].join('\n');
}

/**
 * A signed LUT multiplier as a sum of partial products, modulo 2^pb (Yosys cannot turn it into an
 * SB_MAC16): w·x = Σ_{i<wb-1} w[i]·x·2^i − w[wb-1]·x·2^(wb-1).
 */
export function lutMultiply(w: string, wb: number, x: string, xb: number, pb: number): string {
  const xs = sext(x, xb, pb);
  const terms: string[] = [];
  for (let i = 0; i < wb; i++) {
    const t = `(${w}[${i}] ? ${i === 0 ? `(${xs})` : `((${xs}) << ${i})`} : ${pb}'d0)`;
    terms.push(i === wb - 1 ? `- ${t}` : `${i === 0 ? '' : '+ '}${t}`);
  }
  return terms.join(' ');
}
