/**
 * The accelerator's stream interface: the contract between the generated core (src/rtl), its
 * simulation testbenches (src/sim) and the board wrappers (src/fpga: the iCEBreaker UART wrapper
 * instantiates this module).
 *
 * ```verilog
 * module deepmaker_accel (
 *   input  wire                  clk,
 *   input  wire                  rst,        // synchronous, active high; hold >= 1 cycle after power-up
 *   // input stream: the sample, one byte per beat (valid/ready handshake, a beat moves when both are 1)
 *   input  wire                  in_valid,
 *   output wire                  in_ready,
 *   input  wire [7:0]            in_data,
 *   // output stream: the logits, one per beat, then the core accepts the next sample
 *   output wire                  out_valid,
 *   input  wire                  out_ready,
 *   output wire [OUT_BITS-1:0]   out_data,   // logit i, two's complement, in the output layer's format
 *   output wire                  out_last,   // 1 on the beat of the last logit
 *   output wire [CLASS_BITS-1:0] out_class   // argmax of the logits (first index on ties); valid on every out beat
 * );
 * ```
 *
 * Input byte order. The sample is the model input tensor, channels_last, row-major over its shape
 * (for [H, W, C]: element index (y·W + x)·C + c), the same flat order as the C model's input file.
 * Each element is its stored integer in the input format (`inputFormat`: q = quantize(v) per
 * src/numerics/fixed.ts), sent as ceil(bits/8) bytes, least significant byte first; bits above
 * `bits` in the last byte are ignored. So an 8-bit format sends exactly one byte per element.
 *
 * Timing. in_ready is 1 while the core collects a sample, except for a few cycles after the last pixel
 * of each input row when the first layer has unroll: window (its loader shifts the row's right-edge
 * zeros in: at most kw − 1 cycles a row). After the last input byte, the core computes
 * for `cycles` clocks (src/rtl/cycles.ts predicts the figure exactly; the sim stage measures it), then
 * presents `outputs` beats on the output stream; out_class is already valid on the first. The next sample
 * is accepted after the last out beat. A wrapper that only wants the class may tie out_ready to 1 and
 * take out_class when out_valid && out_last.
 *
 * interface.json (written by the rtl stage beside the Verilog) carries these figures for a given model.
 */
import type { FixedFormat } from '../numerics/fixed';

export const TOP_MODULE = 'deepmaker_accel';

export interface StreamInterface {
  top: string;
  /** Elements of the input tensor and its shape (without batch). */
  inputShape: number[];
  inputElements: number;
  inputFormat: FixedFormat;
  bytesPerElement: number;
  /** Bytes on the input stream per sample = inputElements · bytesPerElement. */
  inputBytes: number;
  /** Logits on the output stream per sample. */
  outputs: number;
  outputFormat: FixedFormat;
  /** Width of out_data (= outputFormat.bits). */
  outBits: number;
  /** Width of out_class. */
  classBits: number;
  clock: { port: 'clk' };
  reset: { port: 'rst'; activeHigh: true; synchronous: true };
}

export function bytesPerElement(f: Pick<FixedFormat, 'bits'>): number {
  return Math.ceil(f.bits / 8);
}

/** Width of a class index able to hold 0..n-1 (at least 1). */
export function classBits(n: number): number {
  return Math.max(1, Math.ceil(Math.log2(Math.max(2, n))));
}

export function streamInterface(inputShape: number[], inputFormat: FixedFormat, outputs: number, outputFormat: FixedFormat): StreamInterface {
  const inputElements = inputShape.reduce((a, b) => a * b, 1);
  const bpe = bytesPerElement(inputFormat);
  return {
    top: TOP_MODULE,
    inputShape,
    inputElements,
    inputFormat,
    bytesPerElement: bpe,
    inputBytes: inputElements * bpe,
    outputs,
    outputFormat,
    outBits: outputFormat.bits,
    classBits: classBits(outputs),
    clock: { port: 'clk' },
    reset: { port: 'rst', activeHigh: true, synchronous: true },
  };
}

/** The input bytes of one sample, as the stream carries them (stored integers, LSB first per element). */
export function encodeInputBytes(q: ArrayLike<number>, f: Pick<FixedFormat, 'bits'>): Uint8Array {
  const bpe = bytesPerElement(f);
  const out = new Uint8Array(q.length * bpe);
  for (let i = 0; i < q.length; i++) {
    let v = BigInt.asUintN(bpe * 8, BigInt(q[i]));
    for (let b = 0; b < bpe; b++) {
      out[i * bpe + b] = Number(v & 0xffn);
      v >>= 8n;
    }
  }
  return out;
}
