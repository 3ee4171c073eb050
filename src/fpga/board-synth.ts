/**
 * The board top (src/fpga/uart-top.ts: UART bridge, reset, LEDs, and a PLL when the clock needs one)
 * synthesized around an accelerator's netlist, which is stitched in unchanged: what the synth and
 * bitstream stages build, what the dse stage's predictor check packs, and what the board simulator runs.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Board } from './boards';
import type { Device } from './devices';
import { synthesize, SynthResult } from './synth';
import type { Toolchain } from './toolchain';
import { AccelPorts, boardTop, BoardTop, DesignClock, uartRtlPaths } from './uart-top';

export interface BoardTopSynthInput {
  toolchain: Toolchain;
  device: Device;
  board: Board;
  accel: AccelPorts;
  /** The accelerator's synthesized Verilog, stitched in unchanged. */
  accelNetlist: string;
  baud: number;
  clock: DesignClock;
  dir: string;
}

/** The board top (UART bridge, reset, LEDs, and a PLL when the clock needs one) synthesized around the accelerator netlist. */
export async function synthesizeBoardTop(input: BoardTopSynthInput): Promise<{ synth: SynthResult; boardTop: BoardTop; topFile: string }> {
  mkdirSync(input.dir, { recursive: true });
  const bt = boardTop(input.board, input.accel, input.baud, undefined, input.clock);
  const topFile = join(input.dir, 'board_top.v');
  writeFileSync(topFile, bt.verilog);
  const synth = await synthesize({ toolchain: input.toolchain, device: input.device, dir: join(input.dir, 'synth'), sources: [...uartRtlPaths(), topFile], netlists: [input.accelNetlist], top: bt.module, name: 'top' });
  return { synth, boardTop: bt, topFile };
}
