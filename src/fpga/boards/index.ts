/**
 * Boards: which device and package they carry, their oscillator, and which pins of their pcf the
 * UART wrapper uses. The pcf file (beside this module) is the one source of the pin numbers; a
 * board here only names the signals it needs from it.
 */
import { readFileSync } from 'node:fs';
import { DeepMakerError } from '../../util/errors';
import { fpgaAsset } from '../assets';
import type { DeviceName } from '../devices';

export type BoardName = 'icebreaker' | 'ice40-hx8k-breakout';

/** What an LED shows: the wrapper is idle and waiting for a sample, an error happened, or one bit of the last class. */
export type LedRole = { kind: 'ready' } | { kind: 'error' } | { kind: 'class'; bit: number };

export interface BoardLed {
  /** Signal name in the pcf. */
  signal: string;
  activeLow: boolean;
  role: LedRole;
}

export interface Board {
  name: BoardName;
  title: string;
  device: DeviceName;
  package: string;
  /** The oscillator on the clock pin: the PLL's reference (or the design clock itself, without a PLL). */
  oscillatorMHz: number;
  /**
   * How the PLL takes the oscillator: 'pad' (SB_PLL40_PAD, the clock pin is a PLL pad) or 'core'
   * (SB_PLL40_CORE from the global clock network).
   */
  pll: 'pad' | 'core';
  /** pcf file in src/fpga/boards. */
  pcf: string;
  /** pcf signal names the wrapper uses. */
  clock: string;
  uartRx: string;
  uartTx: string;
  leds: BoardLed[];
  /** Where the pinout comes from. */
  reference: string;
}

export const BOARDS: Record<BoardName, Board> = {
  icebreaker: {
    name: 'icebreaker',
    title: 'iCEBreaker v1.0 (1BitSquared)',
    device: 'ice40-up5k',
    package: 'sg48',
    oscillatorMHz: 12,
    // Pin 35 (IOT_46b_G0) is the PLL's pad on the UP5K sg48: 1BitSquared's PLL examples use SB_PLL40_PAD.
    pll: 'pad',
    pcf: 'icebreaker.pcf',
    clock: 'CLK',
    uartRx: 'RX',
    uartTx: 'TX',
    leds: [
      { signal: 'LEDG_N', activeLow: true, role: { kind: 'ready' } },
      { signal: 'LEDR_N', activeLow: true, role: { kind: 'error' } },
      // The snap-off PMOD 2 LEDs show the last class in binary (LED1 = bit 0).
      { signal: 'LED1', activeLow: false, role: { kind: 'class', bit: 0 } },
      { signal: 'LED2', activeLow: false, role: { kind: 'class', bit: 1 } },
      { signal: 'LED3', activeLow: false, role: { kind: 'class', bit: 2 } },
      { signal: 'LED4', activeLow: false, role: { kind: 'class', bit: 3 } },
      { signal: 'LED5', activeLow: false, role: { kind: 'class', bit: 4 } },
    ],
    reference: 'https://github.com/icebreaker-fpga/icebreaker (schematic v1.0e) and icebreaker-verilog-examples/icebreaker.pcf',
  },
  'ice40-hx8k-breakout': {
    name: 'ice40-hx8k-breakout',
    title: 'Lattice iCE40-HX8K Breakout Board (ICE40HX8K-B-EVN)',
    device: 'ice40-hx8k',
    package: 'ct256',
    oscillatorMHz: 12,
    pll: 'core',
    pcf: 'ice40-hx8k-breakout.pcf',
    clock: 'CLK',
    uartRx: 'RX',
    uartTx: 'TX',
    leds: [
      { signal: 'LED0', activeLow: false, role: { kind: 'class', bit: 0 } },
      { signal: 'LED1', activeLow: false, role: { kind: 'class', bit: 1 } },
      { signal: 'LED2', activeLow: false, role: { kind: 'class', bit: 2 } },
      { signal: 'LED3', activeLow: false, role: { kind: 'class', bit: 3 } },
      { signal: 'LED4', activeLow: false, role: { kind: 'class', bit: 4 } },
      { signal: 'LED5', activeLow: false, role: { kind: 'class', bit: 5 } },
      { signal: 'LED6', activeLow: false, role: { kind: 'error' } },
      { signal: 'LED7', activeLow: false, role: { kind: 'ready' } },
    ],
    reference: 'Lattice iCE40-HX8K Breakout Board User Guide (EB85), and icestorm examples/hx8kdemo',
  },
};

export function boardNames(): BoardName[] {
  return Object.keys(BOARDS) as BoardName[];
}

/** The board named by target.board, or undefined for `none` (a bare core: no wrapper, no pcf). */
export function getBoard(name: string, where = 'target.board'): Board | undefined {
  if (name === 'none') return undefined;
  const b = (BOARDS as Record<string, Board | undefined>)[name];
  if (!b) throw new DeepMakerError(`unknown board '${name}'`, { where }, `use one of: ${boardNames().join(', ')}, or none`);
  return b;
}

export function boardPcfPath(board: Board): string {
  return fpgaAsset('boards', board.pcf);
}

/** `set_io` lines of a pcf: signal name -> pin. */
export function parsePcf(text: string, file = 'pcf'): Map<string, string> {
  const pins = new Map<string, string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) return;
    const words = line.split(/\s+/);
    if (words[0] !== 'set_io') {
      if (words[0] === 'set_frequency') return;
      throw new DeepMakerError(`unexpected pcf command '${words[0]}'`, { file, line: i + 1, column: 1 }, 'a pcf holds set_io <signal> <pin> lines');
    }
    const args = words.slice(1).filter((w) => !w.startsWith('-'));
    if (args.length !== 2) throw new DeepMakerError(`set_io needs a signal and a pin`, { file, line: i + 1, column: 1 });
    if (pins.has(args[0])) throw new DeepMakerError(`signal '${args[0]}' is assigned twice`, { file, line: i + 1, column: 1 });
    pins.set(args[0], args[1]);
  });
  return pins;
}

export function boardPins(board: Board): Map<string, string> {
  const file = boardPcfPath(board);
  return parsePcf(readFileSync(file, 'utf8'), file);
}
