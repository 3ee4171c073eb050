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
