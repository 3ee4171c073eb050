/**
 * The UART protocol of the board top (src/fpga/rtl/deepmaker_uart_bridge.v), version 1: what both
 * sides agree on. The host starts every message with a command byte:
 *
 *   'S' (0x53) + inputBytes bytes   one sample; the board answers one byte, the class index
 *   '?' (0x3F)                      identify; the board answers INFO_BYTES bytes (below)
 *
 * The identity block lets a host refuse a bitstream built for another model: it carries the input
 * size, the number of classes and a model identity (a hash of the accelerator's Verilog, its ROM
 * images and its interface), all fixed into the bitstream by the synth stage.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { DeepMakerError } from '../util/errors';
import { sha256 } from '../util/fs';

export const PROTOCOL_VERSION = 1;
export const CMD_SAMPLE = 0x53;
export const CMD_INFO = 0x3f;
export const INFO_BYTES = 16;
const MAGIC = [0x44, 0x4d]; // "DM"

/** What the identity block says about the model in the bitstream. */
export interface BoardIdentity {
  version: number;
  inputBytes: number;
  /** Classes (logits) the model answers. */
  outputs: number;
  outBits: number;
  classBits: number;
  /** 32-bit model identity (modelIdentity). */
  modelId: number;
}

/**
 * The identity block, byte k as sent k-th:
 *   0-1 "DM", 2 protocol version, 3 classBits, 4-7 inputBytes (u32 LE), 8-9 outputs (u16 LE),
 *   10 outBits, 11 reserved (0), 12-15 model identity (u32 LE).
 */
export function infoBlock(id: Omit<BoardIdentity, 'version'>): Uint8Array {
  const b = Buffer.alloc(INFO_BYTES);
  b[0] = MAGIC[0];
  b[1] = MAGIC[1];
  b[2] = PROTOCOL_VERSION;
  b[3] = id.classBits;
  b.writeUInt32LE(id.inputBytes, 4);
  b.writeUInt16LE(id.outputs, 8);
  b[10] = id.outBits;
  b.writeUInt32LE(id.modelId >>> 0, 12);
  return new Uint8Array(b);
}

/** The block as the bridge's INFO parameter: a Verilog constant whose byte k is bits [8k+7:8k]. */
export function infoVerilog(block: Uint8Array): string {
  return `${block.length * 8}'h${Array.from(block).reverse().map((x) => x.toString(16).padStart(2, '0')).join('')}`;
}

/** Reads an identity block; undefined when the bytes are not one (another design, or a wrong baud rate). */
export function parseInfo(bytes: Uint8Array): BoardIdentity | undefined {
  if (bytes.length !== INFO_BYTES || bytes[0] !== MAGIC[0] || bytes[1] !== MAGIC[1]) return undefined;
  const b = Buffer.from(bytes);
  return { version: b[2], classBits: b[3], inputBytes: b.readUInt32LE(4), outputs: b.readUInt16LE(8), outBits: b[10], modelId: b.readUInt32LE(12) };
}

/**
 * The model identity: the first 32 bits of a sha256 over the accelerator's interface and the names and
 * contents of its Verilog sources and ROM images (dist/rtl). Two models with the same shapes but other
 * weights get different identities. (A weight swap with icebram keeps the identity of the original.)
 */
export function modelIdentity(interfaceJson: string, files: string[]): number {
  const parts = [readFileSync(interfaceJson, 'utf8'), ...[...files].sort((a, b) => (basename(a) < basename(b) ? -1 : 1)).map((f) => `${basename(f)}\n${sha256(readFileSync(f))}`)];
  return parseInt(sha256(parts.join('\n')).slice(0, 8), 16) >>> 0;
}

export function hexId(id: number): string {
  return (id >>> 0).toString(16).padStart(8, '0');
}

/** Checks a board's identity against the project's; throws what differs. */
export function checkIdentity(board: BoardIdentity, want: Omit<BoardIdentity, 'version'>, where: { port: string; project: string }): void {
  if (board.version !== PROTOCOL_VERSION) {
    throw new DeepMakerError(
      `the bitstream on ${where.port} speaks protocol version ${board.version}, this host version ${PROTOCOL_VERSION}`,
      { where: where.port },
      'rebuild the bitstream with this deepmaker (nx run <project>:bitstream) and program it (deepmaker board --program)',
    );
  }
  const differs: string[] = [];
  if (board.inputBytes !== want.inputBytes) differs.push(`it takes ${board.inputBytes}-byte samples, the project ${want.inputBytes}`);
  if (board.outputs !== want.outputs) differs.push(`it answers ${board.outputs} classes, the project has ${want.outputs}`);
  if (board.classBits !== want.classBits || board.outBits !== want.outBits) differs.push(`its class/logit widths are ${board.classBits}/${board.outBits} bits, the project's ${want.classBits}/${want.outBits}`);
  if (differs.length === 0 && board.modelId !== want.modelId) differs.push(`same shapes, but model identity ${hexId(board.modelId)}, the project's ${hexId(want.modelId)} (other weights or another network)`);
  if (differs.length) {
    throw new DeepMakerError(
      `the board on ${where.port} runs a bitstream built for another model: ${differs.join('; ')}`,
      { file: where.project },
      'program this project\'s bitstream (deepmaker board --program), or run deepmaker board from the project that built the bitstream on the board',
    );
  }
}
