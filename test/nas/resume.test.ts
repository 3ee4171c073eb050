/**
 * Persistence of the search: kill -9 mid-way and rerun repeats no finished evaluation and ends
 * with the uninterrupted run's Pareto set; growing `generations` reuses every earlier evaluation.
 * The searches run the nas stage in child processes with the synthetic evaluator (fixtures/), through
 * the real worker pool and evaluation store.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeNpy } from '../../src/data/npy';

const RUNNER = join(__dirname, 'fixtures', 'run-nas.ts');
const root = mkdtempSync(join(tmpdir(), 'dm-nas-resume-'));

function searchSpec(generations: number, extra: Record<string, unknown> = {}) {
  return {
    search: {
      enabled: true, space: 'densenet', algorithm: 'nsga2', population: 8, generations,
      objectives: ['error', 'macs', 'params', 'weightBits'], constraints: { maxWeightBits: 'device' },
      fidelity: { subset: 64, epochs: [1, 3], promote: 0.5 },
      training: { batchSize: 16, learningRate: 0.002, optimizer: 'adam', backend: 'cpu' },
      activations: ['relu'], workers: 2, seed: 3, select: 'lowest-error', ...extra,
    },
    quantize: { mode: 'fixed', weights: { bits: 8, integer: 1 } },
    target: { device: 'ice40-up5k' },
  };
}

/** A project folder with a small (never trained on) data stage output and a nas view. */
function project(name: string, generations: number): string {
  const dir = join(root, name);
  const data = join(dir, 'dist', 'data');
  mkdirSync(data, { recursive: true });
  for (const split of ['train', 'validation', 'test']) {
    writeNpy(join(data, `${split}_x.npy`), new Float32Array(4 * 784).map((_, i) => (i % 7) / 7), [4, 28, 28, 1]);
    writeNpy(join(data, `${split}_y.npy`), Int32Array.from([0, 1, 2, 3]), [4]);
  }
  writeFileSync(join(data, 'report.json'), JSON.stringify({ dataset: 'synthetic', shape: [28, 28, 1], classes: 10, counts: { train: 4, validation: 4, test: 4 } }));
  writeFileSync(join(dir, 'nas.json'), JSON.stringify(searchSpec(generations)));
  return dir;
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  workerPids: number[];
}

function runNas(dir: string, out: string, log: string, opts: { delayMs?: number; killWhen?: () => boolean } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', RUNNER, dir, out], {
      env: { ...process.env, SYNTHETIC_LOG: log, SYNTHETIC_DELAY_MS: String(opts.delayMs ?? 0) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stdout += d));
    let timer: NodeJS.Timeout | undefined;
    if (opts.killWhen) {
      timer = setInterval(() => {
        if (opts.killWhen!()) {
          clearInterval(timer);
          child.kill('SIGKILL');
        }
      }, 20);
    }
    child.on('exit', (code, signal) => {
      if (timer) clearInterval(timer);
      const workerPids = [...stdout.matchAll(/evaluation worker (\d+) started/g)].map((m) => Number(m[1]));
      resolve({ code, signal, stdout, workerPids });
    });
  });
}

function storedKeys(dir: string): string[] {
  const evals = join(dir, '.deepmaker', 'nas', 'evals');
  if (!existsSync(evals)) return [];
  return readdirSync(evals).flatMap((d) => readdirSync(join(evals, d)).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, '')));
}

const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);
const json = (file: string) => JSON.parse(readFileSync(file, 'utf8'));
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('nas: resumable, content-addressed evaluations', () => {
  let full: { dir: string; out: string; log: string; report: any };

  before(async () => {
    const dir = project('full', 4);
    const out = join(dir, 'out');
    const log = join(root, 'full.log');
    const r = await runNas(dir, out, log);
    assert.equal(r.code, 0, r.stdout);
    full = { dir, out, log, report: json(join(out, 'report.json')) };
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('an uninterrupted run trains every evaluation once and writes the outputs', () => {
    const keys = lines(full.log);
    assert.ok(keys.length >= 8, `${keys.length} trainings`);
    assert.equal(new Set(keys).size, keys.length, 'an evaluation was trained twice');
    assert.equal(full.report.trained, keys.length);
    assert.equal(full.report.cacheHits, 0);
    assert.equal(full.report.evaluations, keys.length);
    assert.deepEqual(storedKeys(full.dir).sort(), [...keys].sort());
    // Successive halving: promoted candidates have two rungs, and rung 1 holds at most half of each generation's trained.
    const cands = lines(join(full.out, 'candidates.jsonl')).map((l) => JSON.parse(l));
    for (let g = 0; g < 4; g++) {
      const trained = cands.filter((c) => c.generation === g && c.rung >= 0);
      const promoted = trained.filter((c) => c.rung === 1);
      assert.equal(promoted.length, Math.ceil(trained.length / 2), `generation ${g}`);
    }
    for (const f of ['candidates.jsonl', 'pareto.json', 'pareto.svg', 'hypervolume.svg', 'selected.json', 'report.json']) assert.ok(existsSync(join(full.out, f)), f);
    assert.equal(full.report.hypervolume.length, 4);
    for (let i = 1; i < 4; i++) assert.ok(full.report.hypervolume[i] >= full.report.hypervolume[i - 1], 'the archive hypervolume never decreases');
  });

  it('kill -9 mid-way, rerun: no finished evaluation is repeated and the Pareto set equals the uninterrupted run', async () => {
    const dir = project('killed', 4);
    const out = join(dir, 'out');
    const total = lines(full.log).length;
    const killed = await runNas(dir, out, join(root, 'killed-1.log'), { delayMs: 120, killWhen: () => storedKeys(dir).length >= Math.floor(total / 2) });
    assert.equal(killed.signal, 'SIGKILL', killed.stdout);
    assert.ok(!existsSync(out), 'a killed stage must leave no output');
    const finished = new Set(storedKeys(dir));
    assert.ok(finished.size >= Math.floor(total / 2) && finished.size < total, `${finished.size} of ${total} stored at the kill`);
    // The workers notice that their parent is gone and exit.
    assert.equal(killed.workerPids.length, 2, killed.stdout);
    const deadline = Date.now() + 10_000;
    while (killed.workerPids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(killed.workerPids.filter(alive), [], 'orphaned evaluation workers');

    const resumedLog = join(root, 'killed-2.log');
    const resumed = await runNas(dir, out, resumedLog);
    assert.equal(resumed.code, 0, resumed.stdout);
    const retrained = lines(resumedLog);
    assert.deepEqual(retrained.filter((k) => finished.has(k)), [], 'a stored evaluation was trained again');
    assert.equal(new Set(retrained).size, retrained.length);
    assert.deepEqual([...finished, ...retrained].sort(), [...lines(full.log)].sort());
    const report = json(join(out, 'report.json'));
    assert.equal(report.cacheHits, finished.size);
    assert.equal(report.trained, retrained.length);
    assert.deepEqual(json(join(out, 'pareto.json')), json(join(full.out, 'pareto.json')));
    assert.deepEqual(json(join(out, 'selected.json')), json(join(full.out, 'selected.json')));
    assert.deepEqual(report.hypervolume, full.report.hypervolume);
  });

  it('growing generations reuses every earlier evaluation and replays the same first generations', async () => {
    writeFileSync(join(full.dir, 'nas.json'), JSON.stringify(searchSpec(6)));
    const out = join(full.dir, 'out-grown');
    const log = join(root, 'grown.log');
    const r = await runNas(full.dir, out, log);
    assert.equal(r.code, 0, r.stdout);
    const report = json(join(out, 'report.json'));
    const before = new Set(lines(full.log));
    const fresh = lines(log);
    assert.equal(report.cacheHits, before.size);
    assert.ok(fresh.length > 0 && fresh.every((k) => !before.has(k)), 'an earlier evaluation was trained again');
    const old = lines(join(full.out, 'candidates.jsonl')).map((l) => JSON.parse(l).id);
    const grown = lines(join(out, 'candidates.jsonl')).map((l) => JSON.parse(l));
    assert.deepEqual(grown.filter((c) => c.generation < 4).map((c) => c.id), old);
    assert.equal(report.hypervolume.length, 6);
    assert.deepEqual(report.hypervolume.slice(0, 4), full.report.hypervolume);
  });

  it('another seed is another search (seeds reach both the optimiser and the trainings)', async () => {
    const dir = project('seed', 2);
    writeFileSync(join(dir, 'nas.json'), JSON.stringify(searchSpec(2, { seed: 4 })));
    const r = await runNas(dir, join(dir, 'out'), join(root, 'seed.log'));
    assert.equal(r.code, 0, r.stdout);
    const a = new Set(lines(full.log));
    assert.ok(lines(join(root, 'seed.log')).every((k) => !a.has(k)));
  });
});
