/**
 * The FPGA device database: what each device offers, how Yosys and nextpnr are told about it.
 * Figures are from Lattice's iCE40 family data sheets (LP/HX: FPGA-DS-02029; UltraPlus: FPGA-DS-02008).
 * The DSE cost model, the NAS hardware objective and the synth/bitstream stages all read this table.
 */
import { DeepMakerError } from '../util/errors';

export type DeviceName = 'ice40-up5k' | 'ice40-hx8k' | 'ice40-hx1k' | 'ice40-lp8k';

export interface Device {
  name: DeviceName;
  family: 'ice40';
  /** Logic cells: one 4-input LUT + one flip-flop + carry logic each. */
  logicCells: number;
  /** Embedded block RAMs (SB_RAM40_4K). */
  ebr: number;
  /** Bits per EBR (256 x 16). */
  ebrBitsEach: number;
  /** SB_MAC16 DSP blocks (16x16 multiply + 32-bit accumulate). */
  dsp: number;
  /** SB_SPRAM256KA single-port RAMs; they cannot be initialised by the bitstream. */
  spram: number;
  spramBitsEach: number;
  /** Packages nextpnr accepts for this device (first = default when no board names one). */
  packages: string[];
  /** nextpnr-ice40 device flag. */
  nextpnrFlag: '--up5k' | '--hx8k' | '--hx1k' | '--lp8k';
  /** Extra options for Yosys `synth_ice40`. */
  synthOptions: string[];
  /** The device has hard multipliers that synth_ice40 -dsp maps to. */
  hasDsp: boolean;
}

export const DEVICES: Record<DeviceName, Device> = {
  'ice40-up5k': {
    name: 'ice40-up5k',
    family: 'ice40',
    logicCells: 5280,
    ebr: 30,
    ebrBitsEach: 4096,
    dsp: 8,
    spram: 4,
    spramBitsEach: 256 * 1024,
    packages: ['sg48', 'uwg30'],
    nextpnrFlag: '--up5k',
    synthOptions: ['-dsp'],
    hasDsp: true,
  },
  'ice40-hx8k': {
    name: 'ice40-hx8k',
    family: 'ice40',
    logicCells: 7680,
    ebr: 32,
    ebrBitsEach: 4096,
    dsp: 0,
    spram: 0,
    spramBitsEach: 0,
    packages: ['ct256', 'cb132', 'bg121', 'cm225'],
    nextpnrFlag: '--hx8k',
    synthOptions: [],
    hasDsp: false,
  },
  'ice40-hx1k': {
    name: 'ice40-hx1k',
    family: 'ice40',
    logicCells: 1280,
    ebr: 16,
    ebrBitsEach: 4096,
    dsp: 0,
    spram: 0,
    spramBitsEach: 0,
    packages: ['tq144', 'vq100', 'cb132'],
    nextpnrFlag: '--hx1k',
    synthOptions: [],
    hasDsp: false,
  },
  'ice40-lp8k': {
    name: 'ice40-lp8k',
    family: 'ice40',
    logicCells: 7680,
    ebr: 32,
    ebrBitsEach: 4096,
    dsp: 0,
    spram: 0,
    spramBitsEach: 0,
    packages: ['cm81', 'cm121', 'cm225'],
    nextpnrFlag: '--lp8k',
    synthOptions: [],
    hasDsp: false,
  },
};

export function deviceNames(): DeviceName[] {
  return Object.keys(DEVICES) as DeviceName[];
}

export function getDevice(name: string, where = 'target.device'): Device {
  const d = (DEVICES as Record<string, Device | undefined>)[name];
  if (!d) throw new DeepMakerError(`unknown device '${name}'`, { where }, `use one of: ${deviceNames().join(', ')}`);
  return d;
}

/** Block RAM bits that the bitstream can initialise: the weight budget for the NAS and the DSE. */
export function ebrBits(device: Device | string): number {
  const d = typeof device === 'string' ? getDevice(device) : device;
  return d.ebr * d.ebrBitsEach;
}

/** The package to build for: the one asked for (checked), else the board's, else the device's first. */
export function resolvePackage(device: Device, asked?: string, boardPackage?: string, where = 'target.package'): string {
  const pkg = asked ?? boardPackage ?? device.packages[0];
  if (!device.packages.includes(pkg)) {
    throw new DeepMakerError(`package '${pkg}' is not a package of ${device.name}`, { where }, `use one of: ${device.packages.join(', ')}`);
  }
  return pkg;
}

/** The resources a synthesized design uses, in device terms. */
export interface ResourceUse {
  /** Logic cells: after synthesis the larger of LUTs and flip-flops (a cell holds one of each), after placement nextpnr's count. */
  logicCells: number;
  ebr: number;
  dsp: number;
  spram: number;
}

export interface FitProblem {
  resource: keyof ResourceUse;
  used: number;
  available: number;
}

/** Every resource the design uses beyond what the device has. */
export function fitProblems(use: ResourceUse, device: Device): FitProblem[] {
  const avail: ResourceUse = { logicCells: device.logicCells, ebr: device.ebr, dsp: device.dsp, spram: device.spram };
  const out: FitProblem[] = [];
  for (const k of Object.keys(avail) as (keyof ResourceUse)[]) if (use[k] > avail[k]) out.push({ resource: k, used: use[k], available: avail[k] });
  return out;
}
