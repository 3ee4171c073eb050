import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/** The repository (this build of deepmaker) and its installed packages. */
export const REPO = resolve(__dirname, '..', '..');
const NODE_MODULES = join(REPO, 'node_modules');
const NX_BIN = join('node_modules', 'nx', 'dist', 'bin', 'nx.js');
const DEEPMAKER_BIN = join('node_modules', 'deepmaker', 'bin', 'deepmaker.js');

export interface RunResult {
  code: number;
  out: string;
}

/**
 * What `npm pack` would ship of this package: the compiled plugin and the files Nx and the CLI read.
 * package.json has no `files` list, so src ships too; the fpga stages read their Verilog and pcf
 * assets from src/fpga (src/fpga/assets.ts).
 */
const PACKAGE_FILES = ['package.json', 'executors.json', 'generators.json', 'bin', 'build', 'schemas', 'executors', 'generators', 'src'];

/**
 * A throw-away Nx workspace under the OS temp folder, set up as a user's is after
 * `npm install -D deepmaker`:
 *  - node_modules/deepmaker is a real folder holding this build (copied: Nx resolves a package's
 *    executors and generators through its real path, and treats one outside node_modules as a local
 *    plugin whose TypeScript sources it would load instead of build/);
 *  - every other package is a symlink into this repository's node_modules (nothing is downloaded);
 *  - package-lock.json records deepmaker as an installed package with its dependency tree, which is
 *    where Nx finds the `externalDependencies` of each target.
 */
export class Workspace {
  readonly root: string;
  constructor(prefix = 'dm-e2e-') {
    this.root = mkdtempSync(join(tmpdir(), prefix));
    const modules = join(this.root, 'node_modules');
    mkdirSync(modules);
    for (const name of readdirSync(NODE_MODULES)) {
      if (name === 'deepmaker' || name.startsWith('.')) continue;
      symlinkSync(join(NODE_MODULES, name), join(modules, name), 'dir');
    }
    for (const f of PACKAGE_FILES) cpSync(join(REPO, f), join(modules, 'deepmaker', f), { recursive: true, filter: (src) => !src.endsWith('.map') });
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
    writeFileSync(join(this.root, 'package.json'), JSON.stringify({ name: 'e2e-workspace', private: true, devDependencies: { deepmaker: pkg.version } }, null, 2));
    writeFileSync(join(this.root, 'package-lock.json'), JSON.stringify(userLockfile(pkg.version), null, 2));
    writeFileSync(
      join(this.root, 'nx.json'),
      JSON.stringify({ cacheDirectory: '.nx/cache', useDaemonProcess: false, namedInputs: { default: ['{projectRoot}/**/*'] } }, null, 2),
    );
    writeFileSync(join(this.root, '.gitignore'), 'node_modules\n.nx\n');
  }

  write(rel: string, data: string | Uint8Array): void {
    const file = join(this.root, rel);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, data);
  }

  read(rel: string): string {
    return readFileSync(join(this.root, rel), 'utf8');
  }

  /** Runs nx in the workspace (no daemon, no Nx Cloud, plugins in-process), like CI. */
  nx(args: string[], env: Record<string, string> = {}): Promise<RunResult> {
    return run(process.execPath, [join(this.root, NX_BIN), ...args], this.root, env);
  }

  /** The installed `deepmaker` command. */
  deepmaker(args: string[]): Promise<RunResult> {
    return run(process.execPath, [join(this.root, DEEPMAKER_BIN), ...args], this.root, {});
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

export function run(cmd: string, args: string[], cwd: string, env: Record<string, string>): Promise<RunResult> {
  const base = { ...process.env };
  // Never let the caller's Nx settings (a remote cache, a daemon) leak into the test.
  for (const k of Object.keys(base)) if (k.startsWith('NX_')) delete base[k];
  return new Promise((done) => {
    execFile(
      cmd,
      args,
      {
        cwd,
        env: { ...base, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_ISOLATE_PLUGINS: 'false', NX_TUI: 'false', NO_COLOR: '1', FORCE_COLOR: '0', ...env },
        maxBuffer: 64 << 20,
        // A whole pipeline (synthesis, place and route) on a loaded 2-core machine takes minutes.
        timeout: 900_000,
      },
      (err, stdout, stderr) => done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: `${stdout}${stderr}` }),
    );
  });
}

/** The lockfile `npm install -D deepmaker@<version>` leaves: this repo's dependency tree under a user's root package. */
function userLockfile(version: string): unknown {
  const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8'));
  const self = lock.packages[''];
  const packages: Record<string, unknown> = { '': { name: 'e2e-workspace', devDependencies: { deepmaker: version } } };
  for (const [path, entry] of Object.entries(lock.packages as Record<string, Record<string, unknown>>)) {
    if (path === '' || path === 'node_modules/deepmaker') continue;
    packages[path] = entry;
  }
  packages['node_modules/deepmaker'] = {
    version,
    resolved: `file:deepmaker-${version}.tgz`,
    dev: true,
    dependencies: self.dependencies,
    optionalDependencies: self.optionalDependencies,
    bin: self.bin,
    engines: self.engines,
  };
  return { name: 'e2e-workspace', lockfileVersion: lock.lockfileVersion, requires: true, packages };
}

/** The tasks nx ran, each with whether it came from a cache (local or remote). */
export function tasks(out: string): Record<string, 'ran' | 'local cache' | 'remote cache'> {
  const result: Record<string, 'ran' | 'local cache' | 'remote cache'> = {};
  for (const m of out.matchAll(/^> nx run (\S+)(?:\s+\[([^\]]+)\])?\s*$/gm)) {
    const tag = m[2] ?? '';
    result[m[1]] = /remote cache/.test(tag) ? 'remote cache' : /cache/.test(tag) ? 'local cache' : 'ran';
  }
  return result;
}

/** An IDX image dataset (4x4 bytes, `classes` classes) small enough for the data stage to take milliseconds. */
export function idxFiles(n: number, classes: number, seed: number): { images: Buffer; labels: Buffer } {
  const head = (dims: number[], type = 0x08) => {
    const b = Buffer.alloc(4 + 4 * dims.length);
    b[2] = type;
    b[3] = dims.length;
    dims.forEach((d, i) => b.writeUInt32BE(d, 4 + 4 * i));
    return b;
  };
  const px = Buffer.alloc(n * 16);
  for (let i = 0; i < px.length; i++) px[i] = (i * 31 + seed * 17) % 256;
  const lb = Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + seed) % classes));
  return { images: Buffer.concat([head([n, 4, 4]), px]), labels: Buffer.concat([head([n]), lb]) };
}

/**
 * The tiny project the e2e flows build: 200 training and 40 test 4x4 IDX images of 4 classes, and
 * a deepmaker.yaml with a fixed two-layer dense network (no search), 8-bit fixed point on a UP5K.
 * `rest` is appended to the YAML (the dse/sim/target sections each test varies).
 */
export function writeTinyProject(ws: Workspace, opts: { epochs: number; verifySamples: number }, rest: string): void {
  writeIdxDataset(ws, 'data/', { train: 200, test: 40, classes: 4, seed: 1 });
  ws.write('deepmaker.yaml', tinyProjectYaml(opts, rest));
}

/** Writes `<prefix>{train,test}-{images,labels}.idx`: a train and a test split from idxFiles (test seed = seed + 1). */
export function writeIdxDataset(ws: Workspace, prefix: string, o: { train: number; test: number; classes: number; seed: number }): void {
  for (const [split, n, seed] of [['train', o.train, o.seed], ['test', o.test, o.seed + 1]] as const) {
    const f = idxFiles(n, o.classes, seed);
    ws.write(`${prefix}${split}-images.idx`, f.images);
    ws.write(`${prefix}${split}-labels.idx`, f.labels);
  }
}

export function tinyProjectYaml(opts: { epochs: number; verifySamples: number }, rest: string): string {
  return `name: model
data:
  dataset: idx
  train: { images: data/train-images.idx, labels: data/train-labels.idx }
  test: { images: data/test-images.idx, labels: data/test-labels.idx }
search:
  enabled: false
train:
  architecture:
    - { type: dense, units: 8, activation: relu }
    - { type: dense, units: 4 }
  epochs: ${opts.epochs}
quantize:
  mode: fixed
verify:
  samples: ${opts.verifySamples}
  sweep: [8]
${rest}`;
}
