/**
 * The worker side of the job queue (queue.ts): a BullMQ Worker in this process takes jobs and hands
 * each to a WorkerPool of training processes (pool.ts), `concurrency` of them. Training in child
 * processes keeps this process's event loop free, so BullMQ renews its job locks on time however
 * long a batch takes; when this process is killed, its children exit (worker.ts) and, once its
 * locks expire, BullMQ's stalled-job check hands its jobs to another worker.
 *
 * Before training, a job is checked as data (validateJob: schema, key = content address) and its
 * tensors are located by sha256 in this machine's copy of the workspace: the project's dist/data,
 * else .deepmaker/queue-data/<hash>, else rebuilt there by the project's data stage (`rebuildData`,
 * given by the CLI). A job whose data cannot be reproduced fails with the reason and is not retried;
 * the worker goes on with the next job.
 */
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { seedFromKey } from '../moo/rng';
import { DeepMakerError, isDeepMakerError } from '../util/errors';
import { sha256File, writeDirAtomically } from '../util/fs';
import type { Logger } from '../util/log';
import { stratifiedSubsetSeed, type EvaluatorRef } from './evaluation';
import { WorkerPool } from './pool';
import { checkRedis, DATA_FILES, QUEUE_NAME, QUEUE_PREFIX, redisOptions, validateJob, workerId, type DataFiles, type QueueJob, type QueueProgress, type QueueResult } from './queue-protocol';
import { TRAIN_EVALUATOR } from './train-evaluator';

/** Builds a project's data stage output into `outDir` (the CLI runs the project's own data stage). */
export type RebuildData = (projectRoot: string, workspaceRoot: string, outDir: string, log: Logger) => Promise<void>;

export interface QueueWorkerOptions {
  url: string;
  /** Trainings at once (one process, one core each). */
  concurrency: number;
  /** This machine's copy of the workspace (where jobs' projects are found). */
  workspaceRoot: string;
  evaluator?: EvaluatorRef;
  /** Shown in the stage's progress and in candidates.jsonl; default host:pid. */
  name?: string;
  rebuildData?: RebuildData;
  log: Logger;
  /** BullMQ lock and stalled-check settings (ms); the defaults suit real trainings, tests shorten them. */
  lockDuration?: number;
  stalledInterval?: number;
  maxStalledCount?: number;
}

/** Finds the tensors a job names by sha256, or rebuilds them; sha256s are memoised by (path, size, mtime, inode). */
export class DataLocator {
  private digests = new Map<string, string>();
  private rebuilding = new Map<string, Promise<string>>();

  constructor(readonly workspaceRoot: string, private readonly log: Logger, private readonly rebuild?: RebuildData) {}

  async locate(d: QueueJob['data']): Promise<string> {
    const projectRoot = resolve(this.workspaceRoot, d.project);
    const rel = relative(this.workspaceRoot, projectRoot);
    if (rel.startsWith('..') || isAbsolute(rel)) throw new Error(`the job's project '${d.project}' is outside the workspace ${this.workspaceRoot}`);
    const own = join(projectRoot, 'dist', 'data');
    const cache = this.cacheDir(d.hash);
    const reasons: string[] = [];
    for (const dir of [own, cache]) {
      const mismatch = await this.compare(dir, d.files);
      if (!mismatch) return dir;
      if (dir === own || existsSync(dir)) reasons.push(mismatch);
    }
    let p = this.rebuilding.get(d.hash);
    if (!p) {
      p = this.rebuildInto(projectRoot, d, reasons);
      this.rebuilding.set(d.hash, p);
      p.catch(() => undefined).finally(() => this.rebuilding.delete(d.hash));
    }
    return p;
  }

  private cacheDir(hash: string): string {
    return join(this.workspaceRoot, '.deepmaker', 'queue-data', hash);
  }

  private async rebuildInto(projectRoot: string, d: QueueJob['data'], reasons: string[]): Promise<string> {
    const specFile = join(projectRoot, 'deepmaker.yaml');
    const found = reasons.join('; ');
    if (!this.rebuild || !existsSync(specFile)) {
      throw new Error(
        `this machine has no tensors with the sha256s the job names (${found}) and ${this.rebuild ? `no ${specFile}` : 'this worker does not rebuild data'} to rebuild them: ` +
          `give it the same workspace (same commit) and run the project's data target (nx run <project>:data) here`,
      );
    }
    const target = this.cacheDir(d.hash);
    this.log.info(`rebuilding the data of ${d.project} with its data stage (${found})`);
    await writeDirAtomically(target, async (tmp) => {
      await this.rebuild!(projectRoot, this.workspaceRoot, tmp, this.log);
      const mismatch = await this.compare(tmp, d.files);
      if (mismatch) {
        throw new Error(
          `rebuilt the data of ${d.project} with its data stage (${specFile}), but ${mismatch.replace(tmp, target)}: this machine's workspace differs from the one that queued the job ` +
            `(deepmaker.yaml, the dataset files or package versions); check out the same commit and run npm ci with the same lockfile`,
        );
      }
    });
    return target;
  }

  /** undefined when every file matches, else why not (naming the file and both hashes). */
  private async compare(dir: string, files: DataFiles): Promise<string | undefined> {
    for (const f of DATA_FILES) {
      const file = join(dir, f);
      let st;
      try {
        st = statSync(file);
      } catch {
        return `${file} does not exist`;
      }
      const memo = `${file}:${st.size}:${st.mtimeMs}:${st.ino}`;
      let digest = this.digests.get(memo);
      if (!digest) {
        digest = await sha256File(file);
        this.digests.set(memo, digest);
      }
      if (digest !== files[f]) return `${file} has sha256 ${digest.slice(0, 12)}…, the job needs ${files[f].slice(0, 12)}…`;
    }
    return undefined;
  }
}

export class QueueWorker {
  private stopping = false;

  private constructor(
    readonly id: string,
    private readonly worker: Worker,
    private readonly pool: WorkerPool,
  ) {}

  /** Checks that Redis answers (a DeepMakerError naming the URL if not), then starts taking jobs. */
  static async start(o: QueueWorkerOptions): Promise<QueueWorker> {
    if (!(Number.isInteger(o.concurrency) && o.concurrency >= 1)) throw new DeepMakerError(`--concurrency must be a whole number >= 1, got ${o.concurrency}`, { where: 'deepmaker worker' });
    await checkRedis(o.url, 'deepmaker worker --queue');
    const id = workerId(o.name);
    const evaluator = o.evaluator ?? TRAIN_EVALUATOR;
    const pool = new WorkerPool(o.concurrency, evaluator, o.log);
    const data = new DataLocator(o.workspaceRoot, o.log, o.rebuildData);
    const log = o.log;
    const progress = (job: Job, message: string) => {
      const p: QueueProgress = { worker: id, message };
      job.updateProgress(p as unknown as object).catch(() => undefined);
    };

    const processor = async (job: Job): Promise<QueueResult> => {
      let q: QueueJob;
      try {
        q = validateJob(job.id, job.data);
      } catch (e) {
        log.warn(`refused job ${job.id}: ${(e as Error).message}`);
        throw new UnrecoverableError((e as Error).message);
      }
      if (q.evaluator.name !== evaluator.name || q.evaluator.version !== evaluator.version) {
        const reason = `the job wants evaluator ${q.evaluator.name}@${q.evaluator.version}, this worker (${id}) runs ${evaluator.name}@${evaluator.version}: install the same DeepMaker version (same lockfile) on every machine`;
        log.warn(`refused job ${job.id}: ${reason}`);
        throw new UnrecoverableError(reason);
      }
      log.info(`took ${q.key} (attempt ${job.attemptsMade + 1}): ${q.fidelity.epochs} epochs on ${q.fidelity.subset} samples of ${q.data.project}`);
      progress(job, 'started');
      let dataDir: string;
      try {
        dataDir = await data.locate(q.data);
      } catch (e) {
        const reason = `worker ${id} cannot reproduce the job's data: ${(e as Error).message}`;
        log.warn(`failed ${q.key}: ${reason}`);
        throw new UnrecoverableError(reason);
      }
      try {
        const result = await pool.run(
          {
            key: q.key, arch: q.arch, fidelity: q.fidelity, training: q.training, seed: seedFromKey(q.key),
            // A stratified subset is the same for every candidate of the search: drawn from its seed.
            ...(q.fidelity.stratified ? { subsetSeed: stratifiedSubsetSeed(q.searchSeed) } : {}),
            dataDir,
          },
          (message) => {
            log.info(`${q.key.slice(0, 12)} ${message}`);
            progress(job, message);
          },
        );
        log.info(`trained ${q.key}: error ${(result.error * 100).toFixed(2)}% in ${result.seconds.toFixed(1)} s`);
        return { key: q.key, result: { ...result, worker: id }, worker: id };
      } catch (e) {
        log.warn(`failed ${q.key}: ${(e as Error).message}`);
        // A user error (e.g. an architecture this version cannot build) fails the same way everywhere: no retry.
        if (isDeepMakerError(e)) throw new UnrecoverableError(`worker ${id}: ${(e as Error).message}`);
        throw e;
      }
    };

    const worker = new Worker(QUEUE_NAME, processor, {
      connection: redisOptions(o.url, 'deepmaker worker --queue'),
      prefix: QUEUE_PREFIX,
      concurrency: o.concurrency,
      name: id,
      ...(o.lockDuration ? { lockDuration: o.lockDuration } : {}),
      ...(o.stalledInterval ? { stalledInterval: o.stalledInterval } : {}),
      maxStalledCount: o.maxStalledCount ?? 2,
      autorun: false,
    });
    let down = false;
    worker.on('error', (e) => {
      if (down) return;
      down = true;
      log.warn(`queue ${o.url}: ${e.message}; reconnecting`);
    });
    worker.on('ready', () => (down = false));
    worker.run().catch((e) => log.warn(`queue ${o.url}: the worker stopped: ${(e as Error).message}`));
    await worker.waitUntilReady();
    log.info(`worker ${id} takes trainings from ${o.url} (${o.concurrency} at a time; workspace ${o.workspaceRoot})`);
    return new QueueWorker(id, worker, pool);
  }

  /** Finishes the jobs in hand (force: drops them; BullMQ gives them to another worker), then exits its training processes. */
  async close(force = false): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.worker.close(force);
    await this.pool.close();
  }
}

/** `deepmaker worker --queue URL [--concurrency N] [--workspace DIR] [--name NAME]`: runs until SIGINT/SIGTERM. */
export async function runQueueWorker(o: QueueWorkerOptions): Promise<number> {
  const w = await QueueWorker.start(o);
  await new Promise<void>((done) => {
    let signals = 0;
    const stop = (sig: string) => {
      signals++;
      if (signals > 1) process.exit(130);
      o.log.info(`${sig}: finishing the trainings in hand (again to stop at once)`);
      w.close().then(done, done);
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
  return 0;
}
