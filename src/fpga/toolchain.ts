/**
 * The open-source iCE40 toolchain (Yosys, nextpnr-ice40, icepack, icebram, icetime), run either as
 * native programs found on PATH or as the WebAssembly builds in the @yowasp/yosys and
 * @yowasp/nextpnr-ice40 npm packages (so `npm ci` alone is enough to make a bitstream).
 *
 * Both runners share one file-based contract: a tool runs in a working folder, reads the input files
 * it is told about and leaves its outputs in that folder. The YoWASP runner copies exactly the named
 * inputs into the tool's virtual file system and writes every new or changed file back, so callers
 * never know which runner they got. YoWASP tools run in a worker thread: the main event loop stays
 * free for logging, and the ~1 GB that nextpnr and its chip databases take is released when the
 * worker ends.
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DeepMakerError } from '../util/errors';

export type ToolName = 'yosys' | 'nextpnr-ice40' | 'icepack' | 'icebram' | 'icetime';
export type ToolchainKind = 'native' | 'yowasp';
export type ToolchainChoice = 'auto' | ToolchainKind;

export const APT_INSTALL_HINT = 'apt-get install yosys nextpnr-ice40 fpga-icestorm';

export interface ToolInvocation {
  /** Working folder: relative paths in `args` are relative to it; outputs land in it. */
  dir: string;
  args: string[];
  /** Files (relative to `dir`) the tool reads. */
  inputs: string[];
  /** Feed this file (relative to `dir`) to the tool's stdin. */
  stdinFile?: string;
  /** Write the tool's stdout to this file (relative to `dir`) instead of the log. */
  stdoutFile?: string;
  /** The tool's messages go to this file (relative to `dir`); default `<tool>.log`. */
  logFile?: string;
}

export interface ToolResult {
  seconds: number;
  /** stdout (unless redirected to a file) and stderr, interleaved as they came. */
  log: string;
}

/** A tool exited non-zero. The log is kept so that callers can explain the failure (e.g. "design too big"). */
export class ToolFailure extends DeepMakerError {
  constructor(
    readonly tool: ToolName,
    readonly code: number,
    readonly log: string,
    logFile: string,
  ) {
    super(`${tool} failed (exit code ${code})`, { file: logFile }, `the last lines of its log:\n${tail(log, 25)}`);
  }
}

export interface Toolchain {
  kind: ToolchainKind;
  run(tool: ToolName, inv: ToolInvocation): Promise<ToolResult>;
  has(tool: ToolName): boolean;
  /** Human-readable version of each tool, e.g. { yosys: 'Yosys 0.55 (git sha1 60f126cd0) [@yowasp/yosys 0.55.944]' }. */
  versions(tools: ToolName[]): Promise<Record<string, string>>;
  /** The Yosys simulation models of the iCE40 primitives (SB_LUT4, SB_RAM40_4K, SB_MAC16...) on disk. */
  ice40CellsSim(): string;
}

export function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

// ---------------------------------------------------------------------------------------------
// Choosing a toolchain

/** The core tools a bitstream needs; `auto` picks native only when all of them are on PATH. */
const CORE_TOOLS: ToolName[] = ['yosys', 'nextpnr-ice40', 'icepack'];

export function findOnPath(program: string, pathEnv = process.env.PATH ?? ''): string | undefined {
  for (const dir of pathEnv.split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, program);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/**
 * `auto`: the native tools when yosys, nextpnr-ice40 and icepack are all on PATH (about 2x faster,
 * 40-150 MB instead of ~1 GB), else the YoWASP packages. `native` without them is an error that says
 * what to install.
 */
export function selectToolchain(choice: ToolchainChoice, needs: ToolName[] = CORE_TOOLS, where = 'target.toolchain'): Toolchain {
  if (choice === 'yowasp') return new YowaspToolchain();
  const native = new NativeToolchain();
  const missing = needs.filter((t) => !native.has(t));
  if (missing.length === 0) return native;
  if (choice === 'native') {
    throw new DeepMakerError(
      `toolchain 'native' was asked for, but ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not on PATH`,
      { where },
      `install them (${APT_INSTALL_HINT}), or set target.toolchain to 'auto' or 'yowasp' to use the @yowasp npm packages`,
    );
  }
  return new YowaspToolchain();
}

// ---------------------------------------------------------------------------------------------
// Native programs

export class NativeToolchain implements Toolchain {
  readonly kind = 'native' as const;
  private readonly paths = new Map<ToolName, string | undefined>();
  private versionCache?: Record<string, string>;

  path(tool: ToolName): string | undefined {
    if (!this.paths.has(tool)) this.paths.set(tool, findOnPath(tool));
    return this.paths.get(tool);
  }

  has(tool: ToolName): boolean {
    return this.path(tool) !== undefined;
  }

  async run(tool: ToolName, inv: ToolInvocation): Promise<ToolResult> {
    const exe = this.path(tool);
    if (!exe) throw new DeepMakerError(`${tool} is not on PATH`, {}, `install it (${APT_INSTALL_HINT}) or use target.toolchain: auto`);
    for (const f of inv.inputs) if (!existsSync(join(inv.dir, f))) throw new Error(`toolchain: input ${f} missing in ${inv.dir}`);
    const logFile = join(inv.dir, inv.logFile ?? `${tool}.log`);
    const started = process.hrtime.bigint();
    const stdinFd = inv.stdinFile ? openSync(join(inv.dir, inv.stdinFile), 'r') : 'ignore';
    let log = '';
    const stdoutChunks: Buffer[] = [];
    const code = await new Promise<number>((resolveExit, reject) => {
      const child = spawn(exe, inv.args, { cwd: inv.dir, stdio: [stdinFd, 'pipe', 'pipe'] });
      if (inv.stdoutFile) child.stdout!.on('data', (b: Buffer) => stdoutChunks.push(b));
      else child.stdout!.on('data', (b: Buffer) => (log += b.toString('utf8')));
      child.stderr!.on('data', (b: Buffer) => (log += b.toString('utf8')));
      child.on('error', reject);
      child.on('close', (c, signal) => resolveExit(c ?? (signal ? 128 : 1)));
    }).finally(() => {
      if (typeof stdinFd === 'number') closeSync(stdinFd);
    });
    if (inv.stdoutFile) writeFileSync(join(inv.dir, inv.stdoutFile), Buffer.concat(stdoutChunks));
    writeFileSync(logFile, log);
    if (code !== 0) throw new ToolFailure(tool, code, log, logFile);
    return { seconds: Number(process.hrtime.bigint() - started) / 1e9, log };
  }

  async versions(tools: ToolName[]): Promise<Record<string, string>> {
    this.versionCache ??= {};
    const out: Record<string, string> = {};
    for (const t of tools) {
      if (!this.versionCache[t]) this.versionCache[t] = await this.version(t);
      out[t] = this.versionCache[t];
    }
    return out;
  }

  private async version(tool: ToolName): Promise<string> {
    const exe = this.path(tool);
    if (!exe) return 'not installed';
    // icestorm's tools have no --version; the Debian package version is the best there is.
    const args = tool === 'yosys' ? ['-V'] : tool === 'nextpnr-ice40' ? ['--version'] : undefined;
    if (!args) return `${exe}${debianVersion('fpga-icestorm')}`;
    const text = await capture(exe, args);
    return `${firstLine(text)} (${exe})`;
  }

  ice40CellsSim(): string {
    const candidates: string[] = [];
    const config = findOnPath('yosys-config');
    if (config) candidates.push(join(captureSync(config, ['--datdir']).trim(), 'ice40', 'cells_sim.v'));
    const yosys = this.path('yosys');
    if (yosys) candidates.push(resolve(dirname(yosys), '..', 'share', 'yosys', 'ice40', 'cells_sim.v'));
    candidates.push('/usr/share/yosys/ice40/cells_sim.v', '/usr/local/share/yosys/ice40/cells_sim.v');
    const found = candidates.find((c) => existsSync(c));
    if (!found) throw new DeepMakerError(`cannot find Yosys's ice40/cells_sim.v (looked in ${candidates.join(', ')})`, {}, 'reinstall yosys, or use target.toolchain: yowasp');
    return found;
  }
}

function firstLine(s: string): string {
  return s.split('\n').map((l) => l.trim()).find((l) => l.length > 0) ?? '';
}

function capture(exe: string, args: string[]): Promise<string> {
  return new Promise((res) => {
    const child = spawn(exe, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    child.on('error', () => res(''));
    child.on('close', () => res(out));
  });
}

function captureSync(exe: string, args: string[]): string {
  const r = spawnSync(exe, args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout : '';
}

function debianVersion(pkg: string): string {
  const dpkg = findOnPath('dpkg-query');
  if (!dpkg) return '';
  const v = captureSync(dpkg, ['-W', '-f=${Version}', pkg]).trim();
  return v ? ` (Debian ${pkg} ${v})` : '';
}

// ---------------------------------------------------------------------------------------------
// YoWASP (WebAssembly) packages

interface YowaspEntry {
  pkg: '@yowasp/yosys' | '@yowasp/nextpnr-ice40';
  exportName: string;
}

const YOWASP: Record<ToolName, YowaspEntry | undefined> = {
  yosys: { pkg: '@yowasp/yosys', exportName: 'runYosys' },
  'nextpnr-ice40': { pkg: '@yowasp/nextpnr-ice40', exportName: 'runNextpnrIce40' },
  icepack: { pkg: '@yowasp/nextpnr-ice40', exportName: 'runIcepack' },
  icebram: { pkg: '@yowasp/nextpnr-ice40', exportName: 'runIcebram' },
  // icetime is not in the YoWASP packages; nextpnr's own timing analysis gives Fmax.
  icetime: undefined,
};

/** Runs one YoWASP command inside a worker thread; the code is evaluated as CommonJS. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  const mod = await import(workerData.moduleUrl);
  const run = mod[workerData.exportName];
  const out = (stream) => (bytes) => { if (bytes && bytes.length) parentPort.postMessage({ stream, bytes: Uint8Array.from(bytes) }); };
  const input = workerData.stdin;
  let pos = 0;
  const stdin = input ? (n) => { if (pos >= input.length) return null; const c = input.subarray(pos, pos + n); pos += c.length; return c; } : null;
  try {
    const files = await run(workerData.args, workerData.files, { stdout: out('stdout'), stderr: out('stderr'), stdin, decodeASCII: false });
    parentPort.postMessage({ done: true, code: 0, files });
  } catch (e) {
    if (e && typeof e.code === 'number' && e.files) parentPort.postMessage({ done: true, code: e.code, files: e.files });
    else parentPort.postMessage({ done: true, error: String((e && e.stack) || e) });
  }
})();
`;

type Tree = { [name: string]: Tree | Uint8Array };

export class YowaspToolchain implements Toolchain {
  readonly kind = 'yowasp' as const;
  private versionCache: Record<string, string> = {};

  has(tool: ToolName): boolean {
    const e = YOWASP[tool];
    if (!e) return false;
    try {
      require.resolve(e.pkg);
      return true;
    } catch {
      return false;
    }
  }

  private moduleUrl(tool: ToolName): { url: string; entry: YowaspEntry } {
    const entry = YOWASP[tool];
    if (!entry) throw new DeepMakerError(`${tool} is not part of the YoWASP packages`, {}, `install it natively (${APT_INSTALL_HINT})`);
    let path: string;
    try {
      path = require.resolve(entry.pkg);
    } catch {
      throw new DeepMakerError(`the npm package ${entry.pkg} is not installed`, {}, `run npm ci (it is a dependency of deepmaker), or install the native tools (${APT_INSTALL_HINT})`);
    }
    return { url: pathToFileURL(path).href, entry };
  }

  async run(tool: ToolName, inv: ToolInvocation): Promise<ToolResult> {
    const { url, entry } = this.moduleUrl(tool);
    const files: Tree = {};
    const given = new Map<string, Uint8Array>();
    for (const rel of inv.inputs) {
      const data = new Uint8Array(readFileSync(join(inv.dir, rel)));
      given.set(normalize(rel), data);
      putTree(files, normalize(rel), data);
    }
    const stdin = inv.stdinFile ? new Uint8Array(readFileSync(join(inv.dir, inv.stdinFile))) : undefined;
    const logFile = join(inv.dir, inv.logFile ?? `${tool}.log`);
    const started = process.hrtime.bigint();
    let log = '';
    const stdoutChunks: Uint8Array[] = [];
    const result = await new Promise<{ code: number; files?: Tree; error?: string }>((res, reject) => {
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { moduleUrl: url, exportName: entry.exportName, args: inv.args, files, stdin } });
      let settled = false;
      worker.on('message', (m: { stream?: string; bytes?: Uint8Array; done?: boolean; code?: number; files?: Tree; error?: string }) => {
        if (m.stream === 'stdout' && inv.stdoutFile) stdoutChunks.push(m.bytes!);
        else if (m.stream) log += Buffer.from(m.bytes!).toString('utf8');
        else if (m.done) {
          settled = true;
          res({ code: m.code ?? 1, files: m.files, error: m.error });
          void worker.terminate();
        }
      });
      worker.on('error', (e) => {
        if (!settled) reject(e);
      });
      worker.on('exit', (c) => {
        if (!settled) reject(new Error(`${tool} worker exited (code ${c}) before the tool finished`));
      });
    });
    // A C++ exception inside a WebAssembly tool (nextpnr's log_error, for one) ends as a trap
    // ("unreachable"); the tool's own message is then the last thing in its log.
    if (result.error) {
      log += `\n[${tool} (WebAssembly) stopped: ${result.error.split('\n')[0]}]\n`;
      writeFileSync(logFile, log);
      throw new ToolFailure(tool, -1, log, logFile);
    }
    if (result.files) {
      for (const [rel, data] of flattenTree(result.files)) {
        const before = given.get(rel);
        if (before && Buffer.compare(Buffer.from(before), Buffer.from(data)) === 0) continue;
        const abs = join(inv.dir, rel);
        mkdirSync(dirname(abs), { recursive: true });
        writeFileSync(abs, data);
      }
    }
    if (inv.stdoutFile) writeFileSync(join(inv.dir, inv.stdoutFile), Buffer.concat(stdoutChunks.map((c) => Buffer.from(c))));
    writeFileSync(logFile, log);
    if (result.code !== 0) throw new ToolFailure(tool, result.code, log, logFile);
    return { seconds: Number(process.hrtime.bigint() - started) / 1e9, log };
  }

  async versions(tools: ToolName[]): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const t of tools) {
      if (!this.versionCache[t]) this.versionCache[t] = await this.version(t);
      out[t] = this.versionCache[t];
    }
    return out;
  }

  private async version(tool: ToolName): Promise<string> {
    const entry = YOWASP[tool];
    if (!entry) return 'not available';
    const pkgVersion = packageVersion(entry.pkg);
    const tag = `[${entry.pkg} ${pkgVersion}]`;
    if (tool !== 'yosys' && tool !== 'nextpnr-ice40') return `${tool} from ${tag}`;
    const dir = mkdtempSync(join(tmpdir(), 'deepmaker-ver-'));
    try {
      const r = await this.run(tool, { dir, args: [tool === 'yosys' ? '-V' : '--version'], inputs: [] });
      return `${firstLine(r.log).replace(/^"yowasp-nextpnr-ice40" -- /, '')} ${tag}`;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  ice40CellsSim(): string {
    const p = join(dirname(require.resolve('@yowasp/yosys')), 'share', 'ice40', 'cells_sim.v');
    if (!existsSync(p)) throw new Error(`@yowasp/yosys has no share/ice40/cells_sim.v at ${p}`);
    return p;
  }
}

function packageVersion(pkg: string): string {
  // The package.json of an ESM-only package with an exports map is not require()-able; find it beside the entry point.
  let dir = dirname(require.resolve(pkg));
  for (let i = 0; i < 4; i++) {
    const f = join(dir, 'package.json');
    if (existsSync(f)) {
      const j = JSON.parse(readFileSync(f, 'utf8')) as { name?: string; version?: string };
      if (j.name === pkg) return j.version ?? '?';
    }
    dir = dirname(dir);
  }
  return '?';
}

function normalize(rel: string): string {
  return rel.replace(/\\/g, '/').replace(/^\.\//, '');
}

function putTree(tree: Tree, rel: string, data: Uint8Array): void {
  const parts = rel.split('/');
  let t = tree;
  for (const p of parts.slice(0, -1)) {
    if (!(p in t)) t[p] = {};
    t = t[p] as Tree;
  }
  t[parts[parts.length - 1]] = data;
}

function flattenTree(tree: Tree, prefix = ''): [string, Uint8Array][] {
  const out: [string, Uint8Array][] = [];
  for (const [name, v] of Object.entries(tree)) {
    const rel = prefix ? `${prefix}/${name}` : name;
    if (v instanceof Uint8Array) out.push([rel, v]);
    else if (typeof v === 'string') out.push([rel, new TextEncoder().encode(v)]);
    else out.push(...flattenTree(v, rel));
  }
  return out;
}
