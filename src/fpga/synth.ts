/**
 * Yosys synthesis for iCE40: Verilog in, a mapped netlist out (JSON for nextpnr, plain Verilog for
 * netlist simulation), with the resource figures read from `stat -json`.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DeepMakerError } from '../util/errors';
import type { Device } from './devices';
import { cellsFromNetlist, cellsFromStatJson, resourcesFromCells, SynthResources } from './resources';
import type { Toolchain } from './toolchain';

export interface SynthInput {
  toolchain: Toolchain;
  device: Device;
  /** A folder of its own: the sources are copied here and the outputs written here. */
  dir: string;
  /** Verilog sources (absolute paths). */
  sources: string[];
  /**
   * Files the sources read with $readmemh/$readmemb (absolute paths). They are copied beside the
   * sources, so the Verilog must name them without a folder.
   */
  dataFiles?: string[];
  /**
   * Already-synthesized netlists (Verilog of iCE40 cells, e.g. an earlier `netlist.v`) that the
   * sources instantiate. They pass through unchanged: what was simulated is what gets placed.
   */
  netlists?: string[];
  top: string;
  /** Parameter overrides of the top module (chparam). */
  parameters?: Record<string, number>;
  /** Extra synth_ice40 options (the device's own, e.g. -dsp on UP5K, are added). */
  synthOptions?: string[];
  /** Output base name: <name>.json, <name>.v, <name>.stat.json, <name>.log. */
  name?: string;
}

export interface SynthResult {
  top: string;
  /** Absolute paths of the outputs. */
  netlistJson: string;
  netlistVerilog: string;
  statJson: string;
  logFile: string;
  resources: SynthResources;
  seconds: number;
}

/**
 * The Yosys script. With `netlists`, synthesis runs in two steps so that those netlists pass through
 * untouched: first the sources alone, the netlists' modules read as black boxes (`-lib`), then a
 * second script only stitches the results together (hierarchy + flatten, no optimisation). Letting
 * synth_ice40 run over an already-mapped netlist is not safe: measured with Yosys 0.55 -dsp, it tied
 * the CLK, CE and OHOLD pins of every SB_MAC16 of the re-read netlist to 0, silently.
 */
/**
 * The generated RTL's hand-placed DSPs (src/rtl/array.ts) are instances of the blackbox DM_SB_MAC16:
 * Yosys's ice40_dsp pass rewrites every SB_MAC16 it meets as a 16x16 multiplier (MODE_8x8 0), so the
 * cell only takes its real type after synth_ice40.
 */
export const HAND_PLACED_MAC = 'DM_SB_MAC16';

export function synthScript(input: Pick<SynthInput, 'device' | 'top' | 'synthOptions' | 'name' | 'parameters'>, sources: string[], netlists: string[], handPlacedMacs = false): string {
  const name = input.name ?? 'netlist';
  const opts = [...input.device.synthOptions, ...(input.synthOptions ?? [])].join(' ');
  const lines: string[] = [];
  for (const n of netlists) lines.push(`read_verilog -lib ${q(n)}`);
  // DM_ICE40: the generated RTL instantiates iCE40 primitives where it has them (src/rtl/array.ts).
  for (const s of sources) lines.push(`read_verilog -DDM_ICE40 ${q(s)}`);
  for (const [k, v] of Object.entries(input.parameters ?? {})) lines.push(`chparam -set ${k} ${Math.trunc(v)} ${input.top}`);
  lines.push(`synth_ice40 -top ${input.top} ${opts}`.replace(/\s+/g, ' ').trim());
  if (handPlacedMacs) lines.push(`chtype -map ${HAND_PLACED_MAC} SB_MAC16`, `delete ${HAND_PLACED_MAC}`);
  // Yosys >= 0.40 leaves $scopeinfo cells (names of flattened instances) behind: no hardware, and
  // no simulation model, so they go before anything is written.
  lines.push('delete t:$scopeinfo');
  if (netlists.length === 0) lines.push(...outputs(name));
  else lines.push(`write_verilog -noattr ${q(name + '.own.v')}`);
  return lines.join('\n') + '\n';
}

/** The second step with `netlists`: stitch the synthesized sources and the netlists, nothing else. */
export function stitchScript(top: string, name: string, netlists: string[]): string {
  const lines = ['read_verilog -lib +/ice40/cells_sim.v', `read_verilog ${q(name + '.own.v')}`];
  for (const n of netlists) lines.push(`read_verilog ${q(n)}`);
  lines.push(`hierarchy -check -top ${top}`, 'flatten', 'delete t:$scopeinfo', 'blackbox =A:whitebox', ...outputs(name));
  return lines.join('\n') + '\n';
}

function outputs(name: string): string[] {
  return [`tee -q -o ${q(name + '.stat.json')} stat -json`, `write_json ${q(name + '.json')}`, `write_verilog -noattr ${q(name + '.v')}`];
}

function q(path: string): string {
  return /^[\w.\-/]+$/.test(path) ? path : `"${path.replace(/"/g, '\\"')}"`;
}

export async function synthesize(input: SynthInput): Promise<SynthResult> {
  const name = input.name ?? 'netlist';
  mkdirSync(input.dir, { recursive: true });
  const copied = (files: string[]) =>
    files.map((f) => {
      if (!existsSync(f)) throw new DeepMakerError(`synthesis input ${f} does not exist`);
      const b = basename(f);
      copyFileSync(f, join(input.dir, b));
      return b;
    });
  const sources = copied(input.sources);
  const netlists = copied(input.netlists ?? []);
  const data = copied(input.dataFiles ?? []);
  const all = [...netlists, ...sources, ...data];
  if (new Set(all).size !== all.length) throw new Error(`synthesize: two inputs share a file name: ${all.join(', ')}`);
  const scriptFile = `${name}.ys`;
  const handPlaced = sources.some((s) => readFileSync(join(input.dir, s), 'latin1').includes(HAND_PLACED_MAC));
  writeFileSync(join(input.dir, scriptFile), synthScript(input, sources, netlists, handPlaced));
  const r = await input.toolchain.run('yosys', { dir: input.dir, args: ['-s', scriptFile], inputs: [scriptFile, ...all], logFile: `${name}.log` });
  let seconds = r.seconds;
  if (netlists.length > 0) {
    const stitchFile = `${name}.stitch.ys`;
    writeFileSync(join(input.dir, stitchFile), stitchScript(input.top, name, netlists));
    const s = await input.toolchain.run('yosys', { dir: input.dir, args: ['-s', stitchFile], inputs: [stitchFile, `${name}.own.v`, ...netlists], logFile: `${name}.stitch.log` });
    seconds += s.seconds;
  }

  const netlistJson = join(input.dir, `${name}.json`);
  const statJson = join(input.dir, `${name}.stat.json`);
  const netlistCells = cellsFromNetlist(JSON.parse(readFileSync(netlistJson, 'utf8')), input.top);
  let cells = netlistCells;
  if (existsSync(statJson)) {
    cells = cellsFromStatJson(readFileSync(statJson, 'utf8'), input.top, statJson);
    // Both describe the same netlist; a difference means the stat format changed under us.
    const a = JSON.stringify(sorted(cells));
    const b = JSON.stringify(sorted(netlistCells));
    if (a !== b) throw new Error(`Yosys stat and the netlist disagree on the cells: ${a} vs ${b}`);
  }
  return {
    top: input.top,
    netlistJson,
    netlistVerilog: join(input.dir, `${name}.v`),
    statJson,
    logFile: join(input.dir, `${name}.log`),
    resources: resourcesFromCells(cells),
    seconds,
  };
}

function sorted(c: Record<string, number>): [string, number][] {
  return Object.entries(c).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The warnings Yosys printed (unique lines), for the report. */
export function yosysWarnings(log: string): string[] {
  const out = new Set<string>();
  for (const l of log.split('\n')) if (l.startsWith('Warning:')) out.add(l.trim());
  return [...out];
}
