/**
 * Simulation of a design with the stream interface (src/rtl/interface.ts) over a file of samples.
 * Reused for the generated RTL (sim stage) and for the synthesized netlist (synth stage: Yosys
 * `write_verilog` output plus the iCE40 cell models).
 *
 * Simulators:
 *  - cxxrtl: Yosys's CXXRTL backend, from the @yowasp/yosys npm package (so `npm ci` is enough),
 *    compiled with the system C++ compiler. Its runtime headers ship inside the package as strings;
 *    they are written out once per Yosys version.
 *  - verilator: when `verilator` is on PATH (Debian: apt-get install verilator); about 4x faster.
 *  `auto` = verilator when present, else cxxrtl.
 *
 * Builds are cached in `workDir` by the hash of everything that goes into them, so a rerun on the
 * same design skips Yosys and the compiler.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { findOnPath, YowaspToolchain } from '../fpga/toolchain';
import { DeepMakerError } from '../util/errors';
import { sha256 } from '../util/fs';
import { silentLogger, type Logger } from '../util/log';
import { DRIVER_CC } from './driver';

export type SimulatorName = 'cxxrtl' | 'verilator';
export type SimulatorChoice = 'auto' | SimulatorName | 'iverilog';

export interface SimulateOptions {
  /** Verilog source files (absolute paths), compile order. */
  sources: string[];
  /** Files the sources read while elaborating ($readmemh images); made available by base name. */
  dataFiles?: string[];
  top: string;
  /** Stream geometry: bytes per sample in, logits out and their width. */
  inputBytes: number;
  outputs: number;
  outBits: number;
  /** Samples: each exactly inputBytes long. */
  samples: Uint8Array[];
  simulator?: SimulatorChoice;
  /** Build cache and run folder. */
  workDir: string;
  /** Verilog defines for every source (e.g. NO_ICE40_DEFAULT_ASSIGNMENTS for cells_sim.v). */
  defines?: Record<string, string | number | true>;
  /** Stop a sample after this many cycles (a hung design). */
  maxCyclesPerSample?: number;
  /** C++ optimisation level of the simulator build. */
  optimize?: 0 | 1 | 2 | 3;
  /** Simulator processes run at once, each on a contiguous share of the samples (default: one per CPU, at most 4). */
  jobs?: number;
  log?: Logger;
}

export interface SimulationResult {
  logits: Int32Array[];
  classes: number[];
  /** Per sample: cycles from the last input byte to the first logit. */
  cycles: number[];
  simulator: { name: SimulatorName; version: string };
  buildSeconds: number;
  runSeconds: number;
  /** Cycles simulated in all (including the streaming), for a speed figure (over `jobs` processes). */
  totalCycles: number;
  jobs: number;
  cached: boolean;
}

export function chooseSimulator(choice: SimulatorChoice = 'auto'): SimulatorName {
  if (choice === 'iverilog') {
    throw new DeepMakerError('iverilog is too slow for data sets here (~30 Kcycles/s measured) and is not supported by the simulation runner', { where: 'sim.simulator' }, "use 'cxxrtl' (npm only) or 'verilator' (apt-get install verilator)");
  }
  if (choice === 'cxxrtl' || choice === 'verilator') {
    if (choice === 'verilator' && !findOnPath('verilator')) {
      throw new DeepMakerError("simulator 'verilator' was asked for, but verilator is not on PATH", { where: 'sim.simulator' }, "apt-get install verilator, or use 'auto' / 'cxxrtl' (needs only npm and a C++ compiler)");
    }
    return choice;
  }
  return findOnPath('verilator') ? 'verilator' : 'cxxrtl';
}

function cxx(): string {
  const c = process.env.CXX || (findOnPath('g++') ? 'g++' : findOnPath('c++') ? 'c++' : findOnPath('clang++') ? 'clang++' : undefined);
  if (!c) throw new DeepMakerError('no C++ compiler on PATH (g++, c++ or clang++)', { where: 'sim' }, 'apt-get install g++ (the simulators compile the design to C++)');
  return c;
}

function run(cmd: string, args: string[], cwd: string, log: Logger): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d.toString()));
    p.stderr.on('data', (d) => (out += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) log.warn(`${cmd} exited with ${code}`);
      resolve({ code: code ?? 1, out });
    });
  });
}

function tail(s: string, n = 30): string {
  return s.trimEnd().split('\n').slice(-n).join('\n');
}

let yosysVersionCache: string | undefined;

async function yowaspResources(): Promise<{ filesystem: any; version: string }> {
  const bundle = require.resolve('@yowasp/yosys');
  const res = await import(pathToFileURL(join(dirname(bundle), 'resources-yosys.js')).href);
  const pkg = JSON.parse(readFileSync(join(dirname(bundle), '..', 'package.json'), 'utf8'));
  return { filesystem: res.filesystem, version: `@yowasp/yosys ${pkg.version}` };
}

/** Writes the CXXRTL runtime headers of the YoWASP Yosys into `dir`/<version>/ once; returns the include folder. */
export async function cxxrtlIncludeDir(dir: string): Promise<{ include: string; version: string }> {
  const { filesystem, version } = await yowaspResources();
  yosysVersionCache = version;
  const include = join(dir, `cxxrtl-runtime-${version.replace(/[^A-Za-z0-9.]/g, '_')}`);
  const marker = join(include, '.complete');
  if (!existsSync(marker)) {
    const runtime = filesystem.share.include.backends.cxxrtl.runtime;
    const write = (tree: Record<string, unknown>, at: string) => {
      for (const [name, v] of Object.entries(tree)) {
        if (typeof v === 'string' || v instanceof Uint8Array) {
          mkdirSync(at, { recursive: true });
          writeFileSync(join(at, name), v as string | Uint8Array);
        } else write(v as Record<string, unknown>, join(at, name));
      }
    };
    write(runtime, include);
    writeFileSync(marker, version);
  }
  return { include, version };
}

function defineArgs(defines: SimulateOptions['defines'], flag: string): string[] {
  return Object.entries(defines ?? {}).map(([k, v]) => (v === true ? `${flag}${k}` : `${flag}${k}=${v}`));
}

/** Build (or reuse) the simulator executable for a design. */
async function build(opts: SimulateOptions, sim: SimulatorName, log: Logger): Promise<{ exe: string; version: string; seconds: number; cached: boolean }> {
  const started = Date.now();
  const opt = opts.optimize ?? 2;
  const inputs = [...opts.sources, ...(opts.dataFiles ?? [])];
  const names = new Set<string>();
  for (const f of inputs) {
    const b = basename(f);
    if (names.has(b)) throw new Error(`two simulation inputs named ${b}`);
    names.add(b);
  }
  const hash = sha256(
    JSON.stringify({ sim, opt, top: opts.top, defines: opts.defines ?? {}, driver: DRIVER_CC, files: inputs.map((f) => [basename(f), sha256(readFileSync(f))]) }),
  ).slice(0, 16);
  const dir = join(opts.workDir, `${sim}-${hash}`);
  const exe = join(dir, 'sim');
  const versionFile = join(dir, 'version.txt');
  if (existsSync(exe) && existsSync(versionFile)) return { exe, version: readFileSync(versionFile, 'utf8'), seconds: 0, cached: true };
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const f of inputs) copyFileSync(f, join(dir, basename(f)));
  // The testbench: which simulator and design it drives, then the shared driver.
  const prelude =
    sim === 'cxxrtl'
      ? ['#define DM_CXXRTL 1', '#define DM_DESIGN_CC "design.cc"', `#define DM_TOP_CLASS cxxrtl_design::p_${opts.top.replace(/_/g, '__')}`]
      : ['#define DM_VERILATOR 1', `#define DM_VERILATOR_HEADER "V${opts.top}.h"`, `#define DM_TOP_CLASS V${opts.top}`];
  writeFileSync(join(dir, 'driver.cc'), [...prelude, DRIVER_CC].join('\n'));
  const srcNames = opts.sources.map((f) => basename(f));
  let version: string;
  if (sim === 'cxxrtl') {
    const { include, version: v } = await cxxrtlIncludeDir(opts.workDir);
    version = `CXXRTL (Yosys, ${v})`;
    const defs = defineArgs(opts.defines, '-D');
    const script = [`read_verilog ${defs.join(' ')} ${srcNames.join(' ')}`, `hierarchy -top ${opts.top}`, 'write_cxxrtl design.cc'].join('; ');
    log.info(`yosys (WebAssembly): ${script}`);
    await new YowaspToolchain().run('yosys', { dir, args: ['-q', '-p', script], inputs: [...srcNames, ...(opts.dataFiles ?? []).map((f) => basename(f))], logFile: 'yosys.log' });
    // CXXRTL_NDEBUG: reads past a memory's end (the masked reads of padding positions) give 0, not an abort.
    const args = [`-O${opt}`, '-std=c++14', '-w', '-DCXXRTL_NDEBUG', '-I', include, '-o', 'sim', 'driver.cc'];
    log.info(`${cxx()} ${args.join(' ')}`);
    const r = await run(cxx(), args, dir, log);
    if (r.code !== 0) throw new DeepMakerError('compiling the CXXRTL simulation failed', { file: join(dir, 'design.cc') }, tail(r.out));
  } else {
    const vr = await run('verilator', ['--version'], dir, log);
    version = vr.out.trim();
    const args = [
      '--cc', '--exe', '--build', '-j', '2', '-Wno-fatal', '-Wno-lint', '-Wno-style', '-Wno-WIDTH', '--top-module', opts.top,
      ...defineArgs(opts.defines, '+define+'),
      '-O3', '-CFLAGS', `-O${opt}`,
      '-o', 'sim', ...srcNames, 'driver.cc',
    ];
    log.info(`verilator ${args.join(' ')}`);
    const r = await run('verilator', args, dir, log);
    if (r.code !== 0) throw new DeepMakerError('building the Verilator simulation failed', { file: dir }, tail(r.out));
    copyFileSync(join(dir, 'obj_dir', 'sim'), exe);
  }
  writeFileSync(versionFile, version);
  return { exe, version, seconds: (Date.now() - started) / 1000, cached: false };
}

/** Simulates every sample through the stream interface; returns logits, classes and cycles per sample. */
export async function simulate(opts: SimulateOptions): Promise<SimulationResult> {
  const log = opts.log ?? silentLogger;
  const sim = chooseSimulator(opts.simulator);
  if (opts.outBits > 32) throw new DeepMakerError(`outputs of ${opts.outBits} bits are wider than the testbench reads (32)`, { where: 'sim' });
  for (const [i, s] of opts.samples.entries()) {
    if (s.length !== opts.inputBytes) throw new Error(`sample ${i} has ${s.length} bytes, the design takes ${opts.inputBytes}`);
  }
  mkdirSync(opts.workDir, { recursive: true });
  const b = await build(opts, sim, log);
  // A run folder of its own: two simulations of one cached build may run at once.
  const runDir = mkdtempSync(join(dirname(b.exe), 'run-'));
  const maxCycles = opts.maxCyclesPerSample ?? 50_000_000;
  // Samples are independent (the core returns to its load state after each): shard them over processes.
  const jobs = Math.max(1, Math.min(opts.jobs ?? Math.min(4, cpus().length), opts.samples.length));
  const per = Math.ceil(opts.samples.length / jobs);
  const shards = Array.from({ length: jobs }, (_, j) => opts.samples.slice(j * per, (j + 1) * per)).filter((x) => x.length > 0);
  const started = Date.now();
  const results = await Promise.all(
    shards.map(async (shard, j) => {
      const inFile = join(runDir, `input${j}.bin`);
      const outFile = join(runDir, `output${j}.txt`);
      writeFileSync(inFile, Buffer.concat(shard.map((x) => Buffer.from(x.buffer, x.byteOffset, x.byteLength))));
      const r = await run(b.exe, [inFile, outFile, String(opts.inputBytes), String(opts.outputs), String(opts.outBits), String(shard.length), String(maxCycles)], dirname(b.exe), log); // cwd: Verilator's $readmemh reads the .hex files at run time
      if (r.code !== 0) throw new DeepMakerError(`the ${sim} simulation failed (exit ${r.code})`, { file: runDir }, tail(r.out));
      const m = /simulated \d+ samples, (\d+) cycles/.exec(r.out);
      return { text: readFileSync(outFile, 'utf8'), cycles: m ? Number(m[1]) : 0 };
    }),
  );
  const runSeconds = (Date.now() - started) / 1000;
  const outText = results.map((x) => x.text).join('');
  rmSync(runDir, { recursive: true, force: true });
  const lines = outText.trim().split('\n').filter((l) => l.length > 0);
  if (lines.length !== opts.samples.length) throw new Error(`simulation wrote ${lines.length} results for ${opts.samples.length} samples`);
  const logits: Int32Array[] = [];
  const classes: number[] = [];
  const cycles: number[] = [];
  for (const line of lines) {
    const v = line.split(' ').map(Number);
    classes.push(v[0]);
    cycles.push(v[1]);
    logits.push(Int32Array.from(v.slice(2)));
  }
  return {
    logits,
    classes,
    cycles,
    simulator: { name: sim, version: b.version },
    buildSeconds: b.seconds,
    runSeconds,
    totalCycles: results.reduce((a, x) => a + x.cycles, 0),
    jobs: shards.length,
    cached: b.cached,
  };
}

/** The Yosys version used for CXXRTL builds (after the first build). */
export function cxxrtlYosysVersion(): string | undefined {
  return yosysVersionCache;
}
