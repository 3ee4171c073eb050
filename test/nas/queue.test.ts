/**
 * search.queue: the architecture search's trainings through BullMQ on a real redis-server (started
 * here on a free loopback port, without persistence, and stopped at the end), with real
 * `deepmaker worker` processes (bin/deepmaker.js, so `npm test` builds first) and real training on a
 * tiny problem. Faults: a worker killed with kill -9 mid-training, the nas stage killed mid-search,
 * malformed jobs and jobs whose data this machine cannot reproduce, and an unreachable Redis.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Queue, QueueEvents } from 'bullmq';
import { evaluationKey } from '../../src/nas/evaluation';
import { combineDataHash, JOB_FORMAT, QUEUE_NAME, QUEUE_PREFIX, redisOptions, type DataFiles, type QueueJob } from '../../src/nas/queue';
import { Redis } from 'ioredis';
import { dataFileHashes } from '../../src/stages/nas';
import { TRAIN_EVALUATOR } from '../../src/nas/train-evaluator';
import { runStage } from '../../src/stages/run';
import { parseSpec } from '../../src/spec/load';
import { isDeepMakerError } from '../../src/util/errors';
import { quadrantsProject } from './fixtures/quadrants';
import { alive, exited, freePort, startRedis, startWorker, track, type WorkerProc } from './fixtures/queue-procs';
import { capture } from './fixtures/stage-log';

const BIN = join(__dirname, '..', '..', 'bin', 'deepmaker.js');
const RUNNER = join(__dirname, 'fixtures', 'run-nas.ts');
const HAVE_REDIS = spawnSync('redis-server', ['--version']).status === 0;
const SKIP = HAVE_REDIS ? false : 'redis-server is not installed (apt-get install redis-server; .ci/run installs it)';

/** The search of every queue test: 4 candidates x 2 generations, 2 then 4 epochs on 128 samples (about 12 trainings). */
const SEARCH = {
  population: 4,
  training: { batchSize: 16, learningRate: 0.002, optimizer: 'adam', backend: 'wasm' },
  fidelity: { subset: 128, epochs: [2, 4], promote: 0.5 },
};

const json = (f: string) => JSON.parse(readFileSync(f, 'utf8'));
const lines = (f: string) => readFileSync(f, 'utf8').trim().split('\n').filter(Boolean);
const candidates = (out: string) => lines(join(out, 'candidates.jsonl')).map((l) => JSON.parse(l));


/** Every rung of every candidate: what must be equal whatever trained it. */
function results(out: string) {
  return candidates(out).map((c) => ({ id: c.id, generation: c.generation, error: c.error, rungs: c.rungs.map((r: any) => ({ key: r.key, error: r.error, validationAccuracy: r.validationAccuracy })) }));
}

function count(keys: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
  return m;
}

describe('nas through a BullMQ queue (real redis-server, real workers)', { skip: SKIP }, () => {
  const root = mkdtempSync(join(tmpdir(), 'dm-nas-queue-'));
  let redis: { url: string; stop(): Promise<void> };
  /** The same search with two local worker processes: the reference. */
  let local: { out: string; report: any };
  const started: WorkerProc[] = [];

  before(async () => {
    redis = await startRedis(mkdtempSync(join(root, 'redis-')));
    const dir = quadrantsProject(join(root, 'local'), SEARCH);
    await runStage('nas', dir, dir, capture());
    local = { out: join(dir, 'dist', 'nas'), report: json(join(dir, 'dist', 'nas', 'report.json')) };
    assert.equal(local.report.trained, local.report.evaluations);
  });
  after(async () => {
    await Promise.all(started.map((w) => w.stop()));
    await redis?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('two queue workers, one killed with kill -9 mid-training: the same candidates, errors, Pareto set and selection as local workers; every key trained once but the killed one', async () => {
    const url = `${redis.url}/1`;
    // The stage's machine takes jobs too, with one local worker process (search.workers).
    const dir = quadrantsProject(join(root, 'queued'), { ...SEARCH, queue: url, workers: 1 });
    let victim: { key: string } | undefined;
    const a = await startWorker(url, dir, 'worker-a', (l, w) => {
      // Kill A once it has finished the first epoch of a training that has more epochs to go.
      const m = /\] ([0-9a-f]{12}) epoch 1\/\d/.exec(l);
      if (!victim && m) {
        victim = { key: w.took().at(-1)! };
        assert.ok(victim.key.startsWith(m[1]));
        w.child.kill('SIGKILL');
      }
    });
    const b = await startWorker(url, dir, 'worker-b');
    started.push(a, b);
    const log = capture();
    await runStage('nas', dir, dir, log);
    await Promise.all([exited(a.child), b.stop()]);
    assert.equal(a.child.signalCode, 'SIGKILL');
    assert.ok(victim, 'worker A was killed mid-training');
    assert.ok(!a.trained().includes(victim.key), 'the killed worker finished its training before the kill landed');
    // Its training processes exit with it.
    for (const pid of a.childPids()) for (let i = 0; i < 200 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(a.childPids().filter(alive), [], 'orphaned training processes');

    const out = join(dir, 'dist', 'nas');
    const report = json(join(out, 'report.json'));
    assert.deepEqual(results(out), results(local.out));
    assert.deepEqual(json(join(out, 'pareto.json')), json(join(local.out, 'pareto.json')));
    assert.deepEqual(json(join(out, 'selected.json')), json(join(local.out, 'selected.json')));
    assert.deepEqual(report.hypervolume, local.report.hypervolume);
    assert.equal(report.queue, url);
    assert.equal(report.trained, local.report.trained);

    // Every training ran exactly once, except the killed one, which a surviving worker (B or the
    // stage's own) ran again after BullMQ's stalled-job check.
    const keys = candidates(out).flatMap((c) => c.rungs.map((r: any) => r.key));
    const stageTook = log.lines.flatMap((l) => /^took ([0-9a-f]{64})/.exec(l)?.[1] ?? []);
    const took = count([...a.took(), ...b.took(), ...stageTook]);
    assert.deepEqual([...took.keys()].sort(), [...keys].sort());
    for (const [k, n] of took) assert.equal(n, k === victim.key ? 2 : 1, `${k} taken ${n} times`);
    const stageTrained = log.lines.flatMap((l) => /^trained ([0-9a-f]{64})/.exec(l)?.[1] ?? []);
    assert.ok([...b.trained(), ...stageTrained].includes(victim.key), 'a surviving worker trained the killed one\'s job');
    // Who ran each: candidates.jsonl, the report and the progress lines.
    const byWorker = count(candidates(out).flatMap((c) => c.rungs.map((r: any) => r.worker)));
    assert.deepEqual(Object.fromEntries(byWorker), report.trainedBy);
    assert.equal(byWorker.get('worker-b'), b.trained().length);
    assert.equal(byWorker.get('worker-a') ?? 0, a.trained().length);
    assert.equal(byWorker.get(`${hostname()}:${process.pid}`) ?? 0, stageTrained.length);
    assert.equal([...byWorker.values()].reduce((x, y) => x + y), keys.length);
    assert.ok(log.lines.some((l) => /^queue gen 1 rung 0: \d+ queued, \d+ running, \d+ done/.test(l)), log.lines.join('\n'));
    assert.ok(log.lines.some((l) => /stopped answering; the job goes back to the queue/.test(l)), 'the stage reports the stalled job');
    assert.ok(log.lines.some((l) => /^generation 2\/2: .*; trained by .*worker-b \(\d+\)/.test(l)));
  });

  it('the nas stage killed mid-search and rerun against the same queue: nothing finished is trained again', async () => {
    const url = `${redis.url}/2`;
    const dir = quadrantsProject(join(root, 'resumed'), { ...SEARCH, queue: url, workers: 0 });
    const a = await startWorker(url, dir, 'worker-c');
    const b = await startWorker(url, dir, 'worker-d');
    started.push(a, b);
    const out = join(dir, 'out');
    const evals = join(dir, '.deepmaker', 'nas', 'evals');
    const stored = () => (existsSync(evals) ? readdirSync(evals).flatMap((d) => readdirSync(join(evals, d))) : []);
    // Run the stage in a child process and kill -9 it once 4 trainings are in the store.
    const stage = track(spawn(process.execPath, ['--import', 'tsx', RUNNER, dir, out, 'real'], { stdio: ['ignore', 'pipe', 'pipe'] }));
    let stageOut = '';
    stage.stdout!.on('data', (d) => (stageOut += d));
    stage.stderr!.on('data', (d) => (stageOut += d));
    const timer = setInterval(() => stored().length >= 4 && stage.kill('SIGKILL'), 20);
    await exited(stage);
    clearInterval(timer);
    assert.equal(stage.signalCode, 'SIGKILL', stageOut);
    assert.ok(!existsSync(out), 'a killed stage leaves no output');
    const finished = stored().length;
    assert.ok(finished >= 4 && finished < local.report.evaluations, `${finished} of ${local.report.evaluations} stored at the kill`);

    // (spawn, not spawnSync: the workers' output must keep being read.)
    const rerun = track(spawn(process.execPath, ['--import', 'tsx', RUNNER, dir, out, 'real'], { stdio: ['ignore', 'pipe', 'pipe'] }));
    let rerunOut = '';
    rerun.stdout!.on('data', (d) => (rerunOut += d));
    rerun.stderr!.on('data', (d) => (rerunOut += d));
    await exited(rerun);
    assert.equal(rerun.exitCode, 0, rerunOut);
    await Promise.all([a.stop(), b.stop()]);
    const report = json(join(out, 'report.json'));
    assert.equal(report.cacheHits, finished);
    assert.equal(report.evaluations, local.report.evaluations);
    // The workers ran every training once, across both runs of the stage; those finished while no
    // stage was waiting came from the queue's completed jobs.
    const took = count([...a.took(), ...b.took()]);
    assert.equal(took.size, local.report.evaluations);
    for (const [k, n] of took) assert.equal(n, 1, `${k} trained ${n} times`);
    assert.deepEqual(results(out), results(local.out));
    assert.deepEqual(json(join(out, 'selected.json')), json(join(local.out, 'selected.json')));
  });

  it('a stratified subset and a confirmation rung (fidelity.final, cosine learning rate) through the queue: the same rungs, confirmation and selection as local workers; the final trainings are queue jobs', async () => {
    const search = { ...SEARCH, fidelity: { ...SEARCH.fidelity, stratify: true, final: { top: 2, epochs: 2 } } };
    const ref = quadrantsProject(join(root, 'confirm-local'), search);
    await runStage('nas', ref, ref, capture());
    const url = `${redis.url}/4`;
    const dir = quadrantsProject(join(root, 'confirm-queued'), { ...search, queue: url, workers: 0 });
    const a = await startWorker(url, dir, 'worker-f');
    const b = await startWorker(url, dir, 'worker-g');
    started.push(a, b);
    const log = capture();
    await runStage('nas', dir, dir, log);
    await Promise.all([a.stop(), b.stop()]);
    const out = join(dir, 'dist', 'nas'), refOut = join(ref, 'dist', 'nas');
    const report = json(join(out, 'report.json')), refReport = json(join(refOut, 'report.json'));
    assert.deepEqual(results(out), results(refOut));
    const finals = (o: string) => candidates(o).filter((c) => c.final).map((c) => ({ id: c.id, key: c.final.key, error: c.final.error, epochs: c.final.epochs, subset: c.final.subset }));
    assert.equal(finals(out).length, 2);
    assert.deepEqual(finals(out), finals(refOut));
    const confirmation = (r: any) => ({ ...r.confirmation, candidates: r.confirmation.candidates.map((c: any) => ({ id: c.id, final: c.final.error, low: c.lowFidelity.error })) });
    assert.deepEqual(confirmation(report), confirmation(refReport));
    assert.deepEqual(json(join(out, 'selected.json')), json(join(refOut, 'selected.json')));
    assert.deepEqual(report.selected, refReport.selected);
    // Every training, the confirmation's included, was a queue job of worker-f or worker-g, and is counted in trainedBy.
    const finalKeys = finals(out).map((f) => f.key);
    const took = [...a.took(), ...b.took()];
    for (const k of finalKeys) assert.equal(took.filter((t) => t === k).length, 1, `final ${k} taken once`);
    assert.equal(took.length, report.trained);
    assert.deepEqual(Object.fromEntries(count(candidates(out).flatMap((c) => [...c.rungs, ...(c.final ? [c.final] : [])].map((r: any) => r.worker)))), report.trainedBy);
    assert.ok(candidates(out).filter((c) => c.final).every((c) => ['worker-f', 'worker-g'].includes(c.final.worker)));
    assert.ok(log.lines.some((l) => /^queue final rung 2 \(confirmation\): \d+ queued, \d+ running, \d+ done/.test(l)), log.lines.join('\n'));
    assert.ok(log.lines.some((l) => /^confirmation: 2 trainings \(0 stored\); trained by worker-[fg]/.test(l)), log.lines.join('\n'));
  });

  it('a malformed job, a forged key, another evaluator, or data this machine cannot reproduce fails with a clear reason, and the worker keeps serving', async () => {
    const url = `${redis.url}/3`;
    // The submitting workspace builds a CSV project's data; the worker's workspace has the spec and
    // the CSV files but no dist/: it rebuilds the tensors with the project's data stage. Its second
    // project has one changed row, so its data cannot match.
    const ws = join(root, 'submitter'), wws = join(root, 'worker-ws');
    const rows = Array.from({ length: 40 }, (_, i) => `${i % 7},${(i * 13) % 11},${i % 2 ? 'odd' : 'even'}`);
    const csvProject = (dir: string, train: string[]) => {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'deepmaker.yaml'), 'name: tab\ndata:\n  dataset: csv\n  csv: { label: kind }\n  train: { files: [train.csv] }\n  test: { files: [test.csv] }\n');
      writeFileSync(join(dir, 'train.csv'), `a,b,kind\n${train.join('\n')}\n`);
      writeFileSync(join(dir, 'test.csv'), 'a,b,kind\n1,2,odd\n2,3,even\n');
    };
    csvProject(join(ws, 'tab'), rows);
    await runStage('spec', join(ws, 'tab'), ws, capture());
    await runStage('data', join(ws, 'tab'), ws, capture());
    const files = await dataFileHashes(join(ws, 'tab', 'dist', 'data'));
    csvProject(join(wws, 'tab'), rows);
    csvProject(join(wws, 'tab-changed'), rows.map((r, i) => (i === 3 ? '6,6,odd' : r)));
    cpSync(join(ws, 'tab', 'dist', 'data'), join(wws, 'quadrants-missing-spec', 'dist', 'data'), { recursive: true });

    const job = (over: Partial<QueueJob> & { files?: DataFiles; project?: string } = {}): QueueJob => {
      const f = over.files ?? files;
      const base = {
        format: JOB_FORMAT,
        arch: { input: [2], classes: 2, layers: [{ type: 'dense' as const, units: 8, activation: 'relu' as const }] },
        fidelity: { epochs: 2, subset: 32 },
        training: { batchSize: 8, learningRate: 0.01, optimizer: 'adam' as const, backend: 'wasm' as const },
        searchSeed: 1,
        evaluator: { name: TRAIN_EVALUATOR.name, version: TRAIN_EVALUATOR.version },
        data: { project: over.project ?? 'tab', hash: combineDataHash(f), files: f },
      };
      const j = { ...base, ...over, data: base.data } as QueueJob;
      delete (j as any).files;
      delete (j as any).project;
      j.key = evaluationKey({ arch: j.arch, fidelity: j.fidelity, training: j.training, dataHash: j.data.hash, seed: j.searchSeed, evaluator: { module: '', ...j.evaluator } });
      return j;
    };

    const w = await startWorker(url, wws, 'worker-e');
    started.push(w);
    const connection = { host: '127.0.0.1', port: Number(new URL(redis.url).port), db: 3 };
    const queue = new Queue(QUEUE_NAME, { connection, prefix: QUEUE_PREFIX });
    const events = new QueueEvents(QUEUE_NAME, { connection, prefix: QUEUE_PREFIX });
    await events.waitUntilReady();
    const submit = async (data: unknown, jobId: string) => {
      const j = await queue.add('train', data, { jobId, attempts: 3 });
      try {
        return { value: await j.waitUntilFinished(events) };
      } catch (e) {
        return { reason: (e as Error).message };
      }
    };
    try {
      const malformed = await submit({ format: JOB_FORMAT, key: 'x', run: 'rm -rf /' }, 'bad-1');
      assert.match(malformed.reason ?? '', /^malformed job bad-1: /);

      const good = job();
      const forged = { ...good, arch: { ...good.arch, layers: [{ type: 'dense', units: 64, activation: 'relu' }] } };
      assert.match((await submit(forged, good.key)).reason ?? '', /malformed job [0-9a-f]{64}: the key is not the content address/);
      await queue.remove(good.key);

      const other = job({ evaluator: { name: 'trainEvaluator', version: '999' } });
      assert.match((await submit(other, other.key)).reason ?? '', /the job wants evaluator trainEvaluator@999, this worker \(worker-e\) runs trainEvaluator@1: install the same DeepMaker version/);

      const noSpec = job({ project: 'quadrants-missing-spec', files: { ...files, 'train_x.npy': 'f'.repeat(64) } });
      const r1 = await submit(noSpec, noSpec.key);
      assert.match(r1.reason ?? '', /worker worker-e cannot reproduce the job's data: .*train_x\.npy has sha256 [0-9a-f]{12}…, the job needs ffffffffffff….*no .*deepmaker\.yaml to rebuild them/);

      const changed = job({ project: 'tab-changed', fidelity: { epochs: 3, subset: 32 } });
      const r2 = await submit(changed, changed.key);
      assert.match(r2.reason ?? '', /rebuilt the data of tab-changed with its data stage .*train_x\.npy has sha256 .*: this machine's workspace differs/);

      assert.ok(!existsSync(join(wws, '.deepmaker', 'queue-data', changed.data.hash)), 'no unverified data is kept');
      // The worker is still serving: a good job is rebuilt from the spec (no dist/ in the worker's workspace) and trained.
      const ok = await submit(good, good.key);
      assert.equal(ok.reason, undefined);
      const value = ok.value as { key: string; worker: string; result: { error: number; epochs: number } };
      assert.equal(value.key, good.key);
      assert.equal(value.worker, 'worker-e');
      assert.equal(value.result.epochs, 2);
      assert.ok(existsSync(join(wws, '.deepmaker', 'queue-data', good.data.hash, 'train_x.npy')));
      assert.ok(!existsSync(join(wws, 'tab', 'dist')), "the worker leaves the project's dist/ alone");
      // None of the refused jobs was retried.
      assert.equal(w.took().filter((k) => k === noSpec.key || k === changed.key).length, 2);
    } finally {
      await events.close();
      await queue.close();
      await w.stop();
    }
  });
});

describe('search.queue with a password and an ACL user', { skip: SKIP }, () => {
  it('the password and user come from DEEPMAKER_REDIS_PASSWORD / DEEPMAKER_REDIS_USERNAME; without them, a clear error saying so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dm-nas-queue-auth-'));
    const redis = await startRedis(dir, ['--requirepass', 'admin-secret']);
    try {
      const admin = new Redis({ host: '127.0.0.1', port: Number(new URL(redis.url).port), password: 'admin-secret' });
      // The README's ACL: a user that sees only DeepMaker's keys.
      await admin.call('ACL', 'SETUSER', 'deepmaker', 'on', '>worker-secret', '~deepmaker:*', '&deepmaker:*', '+@all', '-@admin');
      admin.disconnect();
      const env = { ...process.env };
      delete env.DEEPMAKER_REDIS_PASSWORD;
      delete env.DEEPMAKER_REDIS_USERNAME;
      const none = spawnSync(process.execPath, [BIN, 'worker', '--queue', redis.url], { encoding: 'utf8', env });
      assert.equal(none.status, 1);
      assert.match(none.stderr, new RegExp(`cannot use the job queue at ${redis.url.replace(/\./g, '\\.')}: NOAUTH[^]*hint: set DEEPMAKER_REDIS_PASSWORD`));
      const wrong = spawnSync(process.execPath, [BIN, 'worker', '--queue', redis.url], { encoding: 'utf8', env: { ...env, DEEPMAKER_REDIS_USERNAME: 'deepmaker', DEEPMAKER_REDIS_PASSWORD: 'nope' } });
      assert.equal(wrong.status, 1);
      assert.match(wrong.stderr, /WRONGPASS[^]*hint: set DEEPMAKER_REDIS_PASSWORD/);
      assert.doesNotMatch(wrong.stderr, /nope/);
      process.env.DEEPMAKER_REDIS_USERNAME = 'deepmaker';
      process.env.DEEPMAKER_REDIS_PASSWORD = 'worker-secret';
      try {
        const w = await startWorker(redis.url, dir, 'worker-auth');
        // A job through the ACL user's keys: refused as malformed, which takes BullMQ's scripts end to end.
        const queue = new Queue(QUEUE_NAME, { connection: redisOptions(redis.url), prefix: QUEUE_PREFIX });
        const events = new QueueEvents(QUEUE_NAME, { connection: redisOptions(redis.url), prefix: QUEUE_PREFIX });
        await events.waitUntilReady();
        const j = await queue.add('train', { nothing: true }, { jobId: 'auth-1' });
        await assert.rejects(j.waitUntilFinished(events), /^Error: malformed job auth-1/);
        await events.close();
        await queue.close();
        await w.stop();
      } finally {
        delete process.env.DEEPMAKER_REDIS_USERNAME;
        delete process.env.DEEPMAKER_REDIS_PASSWORD;
      }
    } finally {
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('search.queue: configuration errors and an unreachable Redis', () => {
  it('the spec refuses a queue URL with credentials and says to use DEEPMAKER_REDIS_PASSWORD', () => {
    assert.throws(() => parseSpec('name: x\nsearch:\n  queue: redis://ci:hunter2@10.0.0.5:6379/0\n', 'deepmaker.yaml'), (e: Error) => {
      assert.match(e.message, /^deepmaker\.yaml:3:10: 'search\.queue': the queue URL must not hold a user name or password .*DEEPMAKER_REDIS_PASSWORD/);
      return true;
    });
    assert.throws(() => parseSpec('name: x\nsearch:\n  queue: http://10.0.0.5:6379\n', 'deepmaker.yaml'), /deepmaker\.yaml:3:10: 'search\.queue': expected redis:\/\/host:port\[\/db\] or rediss:\/\//);
    assert.equal(parseSpec('name: x\nsearch:\n  queue: rediss://redis.example.com:6380/2\n  workers: 0\n', 'deepmaker.yaml').search.queue, 'rediss://redis.example.com:6380/2');
  });

  it('fidelity.schedule asha with search.queue: a warning that asha keeps at most max(1, search.workers) trainings in flight', async () => {
    const url = `redis://127.0.0.1:${await freePort()}/0`;
    const root = quadrantsProject(mkdtempSync(join(tmpdir(), 'dm-nas-asha-queue-')), { ...SEARCH, fidelity: { ...SEARCH.fidelity, schedule: 'asha' }, queue: url, workers: 0 });
    try {
      const log = capture();
      await assert.rejects(runStage('nas', root, root, log), /cannot use the job queue/);
      assert.ok(log.lines.some((l) => /^warning: fidelity\.schedule asha starts at most 1 training at a time \(search\.workers\), however many queue workers take jobs/.test(l)), log.lines.join('\n'));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('an unreachable Redis is an error naming the URL, and nothing is trained locally', async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}/0`;
    const root = quadrantsProject(mkdtempSync(join(tmpdir(), 'dm-nas-noredis-')), { ...SEARCH, queue: url, workers: 2 });
    try {
      const log = capture();
      await assert.rejects(runStage('nas', root, root, log), (e: Error) => {
        assert.ok(isDeepMakerError(e));
        assert.match(e.message, new RegExp(`^search\\.queue: cannot use the job queue at redis://127\\.0\\.0\\.1:${port}/0: .*ECONNREFUSED[^]*hint: start redis-server there`));
        return true;
      });
      assert.ok(!existsSync(join(root, 'dist', 'nas')));
      assert.ok(!existsSync(join(root, '.deepmaker', 'nas', 'evals')), 'nothing was trained');
      assert.ok(!log.lines.some((l) => /evaluation worker|rung \d/.test(l)), log.lines.join('\n'));

      const cli = spawnSync(process.execPath, [BIN, 'worker', '--queue', url], { encoding: 'utf8' });
      assert.equal(cli.status, 1);
      assert.match(cli.stderr, new RegExp(`cannot use the job queue at redis://127\\.0\\.0\\.1:${port}/0`));
      assert.doesNotMatch(cli.stderr, /\n\s+at /, 'no stack trace');
      const creds = spawnSync(process.execPath, [BIN, 'worker', '--queue', 'redis://u:secret@127.0.0.1:1'], { encoding: 'utf8' });
      assert.equal(creds.status, 1);
      assert.match(creds.stderr, /must not hold a user name or password[^]*DEEPMAKER_REDIS_PASSWORD/);
      assert.doesNotMatch(creds.stderr, /secret/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
