/**
 * Weight swap without place and route: icebram finds the block RAMs whose contents are `oldHex` in
 * an .asc and rewrites them with `newHex` (0.1 s native instead of a full synth + P&R).
 *
 * The rules icebram imposes: the old file must be exactly what was synthesized (so synthesize with
 * random placeholder contents: an all-zero ROM is folded away by Yosys, and repeated patterns make
 * the match ambiguous), both files have the same word width and a number of words that is a multiple
 * of 256 (one EBR holds 256 words of up to 16 bits; wider words span several EBRs).
 */
import { copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DeepMakerError } from '../util/errors';
import { ToolFailure, Toolchain } from './toolchain';

export interface HexImage {
  words: string[];
  /** Hex digits per word. */
  digits: number;
}

/** A $readmemh file as icebram reads it: one word per line (comments and blank lines ignored). */
export function readHexImage(text: string, file = 'hex'): HexImage {
  const words: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\/\/.*/, '').trim();
    if (!line) return;
    for (const w of line.split(/\s+/)) {
      if (w.startsWith('@')) throw new DeepMakerError(`address directives (@) are not supported by icebram`, { file, line: i + 1 });
      if (!/^[0-9a-fA-F]+$/.test(w)) throw new DeepMakerError(`'${w}' is not a hex word`, { file, line: i + 1 });
      words.push(w.toLowerCase());
    }
  });
  const digits = Math.max(0, ...words.map((w) => w.length));
  return { words, digits };
}

export function checkSwappable(oldImg: HexImage, newImg: HexImage, oldFile: string, newFile: string): void {
  if (oldImg.words.length === 0 || oldImg.words.length % 256 !== 0) {
    throw new DeepMakerError(`${oldImg.words.length} words: icebram needs a multiple of 256 words`, { file: oldFile }, 'pad the ROM to a multiple of 256 words in the RTL and the hex file');
  }
  if (newImg.words.length !== oldImg.words.length) {
    throw new DeepMakerError(`the new weights have ${newImg.words.length} words, the synthesized ones ${oldImg.words.length}`, { file: newFile }, 'the new file must have the same shape as the one the bitstream was built from');
  }
  if (newImg.digits > oldImg.digits) {
    throw new DeepMakerError(`the new weights are ${newImg.digits * 4} bits wide, the synthesized ones ${oldImg.digits * 4}`, { file: newFile });
  }
  if (new Set(oldImg.words).size < Math.min(oldImg.words.length, 16)) {
    throw new DeepMakerError(`the synthesized contents repeat too much for icebram to find them unambiguously`, { file: oldFile }, 'synthesize with random placeholder contents');
  }
}

/**
 * Writes `outAsc`: `asc` with the block RAMs holding `oldHex` rewritten to `newHex`. Then run icepack
 * on it for a new .bin.
 */
export async function swapWeights(toolchain: Toolchain, asc: string, oldHex: string, newHex: string, outAsc: string, workDir: string): Promise<{ seconds: number }> {
  for (const f of [asc, oldHex, newHex]) if (!existsSync(f)) throw new DeepMakerError(`file not found`, { file: f });
  checkSwappable(readHexImage(readFileSync(oldHex, 'utf8'), oldHex), readHexImage(readFileSync(newHex, 'utf8'), newHex), oldHex, newHex);
  copyFileSync(asc, join(workDir, 'in.asc'));
  copyFileSync(oldHex, join(workDir, 'old.hex'));
  copyFileSync(newHex, join(workDir, 'new.hex'));
  try {
    const r = await toolchain.run('icebram', { dir: workDir, args: ['old.hex', 'new.hex'], inputs: ['old.hex', 'new.hex'], stdinFile: 'in.asc', stdoutFile: 'out.asc', logFile: 'icebram.log' });
    copyFileSync(join(workDir, 'out.asc'), outAsc);
    return { seconds: r.seconds };
  } catch (e) {
    if (e instanceof ToolFailure) {
      throw new DeepMakerError(
        `icebram could not swap the weights: ${e.log.trim().split('\n').pop() ?? ''}`,
        { file: asc },
        `${basename(oldHex)} must be exactly the contents the bitstream was built with`,
      );
    }
    throw e;
  } finally {
    for (const f of ['in.asc', 'out.asc']) rmSync(join(workDir, f), { force: true });
  }
}

/** The block-RAM contents of an .asc: one 256 x 16-bit array per `.ram_data x y` section. */
export function ascRamData(asc: string): { x: number; y: number; words: Uint16Array }[] {
  const out: { x: number; y: number; words: Uint16Array }[] = [];
  const lines = asc.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^\.ram_data\s+(\d+)\s+(\d+)/.exec(lines[i]);
    if (!m) continue;
    const words = new Uint16Array(256);
    for (let row = 0; row < 16; row++) {
      const hex = lines[i + 1 + row].trim();
      // 64 hex digits = 16 words, the highest address first (like an INIT_x parameter).
      for (let k = 0; k < 16; k++) words[row * 16 + k] = parseInt(hex.slice(60 - 4 * k, 64 - 4 * k), 16);
    }
    out.push({ x: Number(m[1]), y: Number(m[2]), words });
  }
  return out;
}

/** The 256 words of a block RAM cell's INIT_0..INIT_F parameters (Yosys JSON: binary strings, MSB first). */
export function ramInitWords(params: Record<string, string | number>): Uint16Array {
  const words = new Uint16Array(256);
  for (let blk = 0; blk < 16; blk++) {
    const v = String(params[`INIT_${blk.toString(16).toUpperCase()}`] ?? '').replace(/[xz]/g, '0').padStart(256, '0');
    for (let i = 0; i < 16; i++) {
      let w = 0;
      for (let b = 0; b < 16; b++) if (v[255 - (16 * i + b)] === '1') w |= 1 << b;
      words[blk * 16 + i] = w;
    }
  }
  return words;
}

function initParams(words: Uint16Array): Record<string, string> {
  const out: Record<string, string> = {};
  for (let blk = 0; blk < 16; blk++) {
    const bits = new Array<string>(256);
    for (let i = 0; i < 16; i++) for (let b = 0; b < 16; b++) bits[255 - (16 * i + b)] = (words[blk * 16 + i] >> b) & 1 ? '1' : '0';
    out[`INIT_${blk.toString(16).toUpperCase()}`] = bits.join('');
  }
  return out;
}

/**
 * Puts the block-RAM contents of a (weight-swapped) .asc back into the netlist it was built from, so
 * the netlist simulator can check what the bitstream's RAMs now hold. Each RAM cell is found in the
 * original .asc by its contents (nextpnr placed it somewhere), then takes the contents of the same
 * site in `swappedAsc`. Returns how many RAM cells were rewritten.
 */
export function applyAscRams(netlist: { modules: Record<string, { cells: Record<string, { type: string; parameters: Record<string, string | number> }> }> }, top: string, originalAsc: string, swappedAsc: string): number {
  const before = ascRamData(originalAsc);
  const after = new Map(ascRamData(swappedAsc).map((r) => [`${r.x},${r.y}`, r.words]));
  let n = 0;
  for (const [name, cell] of Object.entries(netlist.modules[top].cells)) {
    if (!cell.type.startsWith('SB_RAM40_4K')) continue;
    const init = ramInitWords(cell.parameters).join(',');
    const sites = before.filter((r) => Array.from(r.words).join(',') === init);
    // An all-zero RAM may have no .ram_data section at all; icebram cannot have changed it.
    if (sites.length === 0 && /^[0,]+$/.test(init)) continue;
    if (sites.length === 0) throw new Error(`RAM ${name}: its contents are in no block RAM of the original bitstream`);
    // Equal contents (e.g. two unused RAMs) are interchangeable: any site with them will do.
    const swapped = after.get(`${sites[0].x},${sites[0].y}`);
    if (!swapped) throw new Error(`RAM ${name}: no block RAM at ${sites[0].x},${sites[0].y} in the swapped bitstream`);
    Object.assign(cell.parameters, initParams(swapped));
    n++;
  }
  return n;
}
