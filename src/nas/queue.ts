/**
 * Trainings through a job queue: BullMQ on Redis (search.queue). The nas stage submits each
 * training as a job whose jobId is its evaluation key, so a training is queued at most once however
 * often the stage is rerun; `deepmaker worker --queue <url>` processes (queue-worker.ts) on any
 * machine with the workspace take the jobs, train and return the results, which the stage writes to
 * its evaluation store as if a local worker had trained them. A result depends only on its key
 * (the training's seed is derived from it), so it cannot depend on where or when it was trained.
 *
 * Jobs are data, never code: every job is validated against JOB_SCHEMA before a worker acts on it,
 * the worker recomputes the evaluation key from the job's contents, and the data is named by the
 * sha256 of its tensors (the worker finds or rebuilds it in its own copy of the workspace).
 * Results are validated against RESULT_SCHEMA before the stage stores them.
 *
 * The password comes from DEEPMAKER_REDIS_PASSWORD (and an ACL user from DEEPMAKER_REDIS_USERNAME),
 * never from the URL, which the spec holds and Nx hashes.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { Queue, QueueEvents, type Job, type RedisOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { hostname } from 'node:os';
import { seedFromKey } from '../moo/rng';
import type { Architecture } from '../nn/arch';
import { loadSchema } from '../spec/schema';
import { DeepMakerError } from '../util/errors';
import { sha256 } from '../util/fs';
import type { Logger } from '../util/log';
import { evaluationKey, stratifiedSubsetSeed, type EvaluationResult, type EvaluationTask, type EvaluatorRef, type Fidelity, type SearchTraining } from './evaluation';
import type { EvaluationPool, RunMeta } from './pool';

/** BullMQ's key prefix and queue name: every DeepMaker search on one Redis shares the queue (keys are content addresses). */
export const QUEUE_PREFIX = 'deepmaker';
export const QUEUE_NAME = 'nas';
export const JOB_FORMAT = 'deepmaker-nas-job/1';
export const PASSWORD_VARIABLE = 'DEEPMAKER_REDIS_PASSWORD';
export const USERNAME_VARIABLE = 'DEEPMAKER_REDIS_USERNAME';

/** The four tensors a training reads, in the order dataHash combines them. */
export const DATA_FILES = ['train_x.npy', 'train_y.npy', 'validation_x.npy', 'validation_y.npy'] as const;
export type DataFiles = Record<(typeof DATA_FILES)[number], string>;

/** sha256 over the training and validation tensors' sha256s: part of every evaluation key. */
export function combineDataHash(files: DataFiles): string {
  return sha256(DATA_FILES.map((f) => files[f]).join('\n'));
}

export interface QueueJob {
  format: typeof JOB_FORMAT;
  key: string;
  arch: Architecture;
  fidelity: Fidelity;
  training: SearchTraining;
  /** search.seed: with the rest, the worker recomputes `key` (and the training's seed from it). */
  searchSeed: number;
  /** The evaluator's name and version; a worker runs only its own evaluator. */
  evaluator: { name: string; version: string };
  /** The project's data: its folder relative to the workspace root, and the sha256 of each tensor. */
  data: { project: string; hash: string; files: DataFiles };
}

export interface QueueResult {
  key: string;
  result: EvaluationResult;
  /** Who trained it: `host:pid` (or the worker's --name). */
  worker: string;
}

/** Progress a worker reports while it trains (job.updateProgress). */
export interface QueueProgress {
  worker: string;
  message: string;
}

const HEX64 = { type: 'string', pattern: '^[0-9a-f]{64}$' };

function jobSchema(): Record<string, unknown> {
  const spec = loadSchema();
  const { default: _d, description: _t, ...training } = spec.properties.search.properties.training;
  // The confirmation rung's trainings (search.fidelity.final) add a learning-rate schedule the spec's
  // search.training does not have (SearchTraining.schedule).
  const jobTraining = { ...training, properties: { ...training.properties, schedule: { enum: ['cosine'] } } };
  return {
    type: 'object',
    additionalProperties: false,
    required: ['format', 'key', 'arch', 'fidelity', 'training', 'searchSeed', 'evaluator', 'data'],
    definitions: spec.definitions,
    properties: {
      format: { const: JOB_FORMAT },
      key: HEX64,
      arch: {
        type: 'object',
        additionalProperties: false,
        required: ['input', 'classes', 'layers'],
        properties: {
          input: { type: 'array', minItems: 1, maxItems: 4, items: { type: 'integer', minimum: 1, maximum: 65536 } },
          classes: { type: 'integer', minimum: 2, maximum: 1000000 },
          layers: { type: 'array', minItems: 1, maxItems: 1024, items: { $ref: '#/definitions/archLayer' } },
        },
      },
      fidelity: {
        type: 'object',
        additionalProperties: false,
        required: ['epochs', 'subset'],
        properties: { epochs: { type: 'integer', minimum: 1, maximum: 100000 }, subset: { type: 'integer', minimum: 1 }, stratified: { const: true } },
      },
      training: jobTraining,
      searchSeed: { type: 'integer', minimum: 0 },
      evaluator: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'version'],
        properties: { name: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,100}$' }, version: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,100}$' } },
      },
      data: {
        type: 'object',
        additionalProperties: false,
        required: ['project', 'hash', 'files'],
        properties: {
          // A folder inside the workspace: '.' or relative segments, never absolute, never '..'.
          project: { type: 'string', maxLength: 1000, pattern: '^(\\.|(?!\\.\\.(/|$))[A-Za-z0-9_@+-][A-Za-z0-9._@+-]*(/(?!\\.\\.(/|$))[A-Za-z0-9._@+-]+)*)$' },
          hash: HEX64,
          files: { type: 'object', additionalProperties: false, required: [...DATA_FILES], properties: Object.fromEntries(DATA_FILES.map((f) => [f, HEX64])) },
        },
      },
    },
  };
}

const RESULT_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['key', 'result', 'worker'],
  properties: {
    key: HEX64,
    worker: { type: 'string', minLength: 1, maxLength: 300 },
    result: {
      type: 'object',
      additionalProperties: false,
      required: ['error', 'validationAccuracy', 'epochs', 'seconds'],
      properties: {
        error: { type: 'number', minimum: 0, maximum: 1 },
        validationAccuracy: { type: 'number', minimum: 0, maximum: 1 },
        validationLoss: { type: ['number', 'null'] },
        epochs: { type: 'integer', minimum: 0 },
        seconds: { type: 'number', minimum: 0 },
        imagesPerSecond: { type: ['number', 'null'] },
        backend: { type: 'string', maxLength: 100 },
        worker: { type: 'string', maxLength: 300 },
      },
    },
  },
};

let validators: { job: ValidateFunction; result: ValidateFunction } | undefined;
function getValidators() {
  if (!validators) {
    const ajv = new Ajv({ allErrors: false, strict: false, useDefaults: false });
    validators = { job: ajv.compile(jobSchema()), result: ajv.compile(RESULT_SCHEMA) };
  }
  return validators;
}

function describeErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? []).slice(0, 3).map((e) => `${e.instancePath || '(top level)'} ${e.message ?? 'is invalid'}`).join('; ');
}

/**
 * Checks a job as data: the schema, the jobId, and that the key is the content address of what the
 * job asks for (so a job cannot make a worker store a result under another training's key).
 * Returns the typed job, or throws an Error saying what is wrong.
 */
export function validateJob(jobId: string | undefined, data: unknown): QueueJob {
  const v = getValidators().job;
  if (!v(data)) throw new Error(`malformed job ${jobId ?? '(no id)'}: ${describeErrors(v.errors)}`);
  const job = data as QueueJob;
  if (jobId !== job.key) throw new Error(`malformed job ${jobId}: its jobId is not its evaluation key ${job.key}`);
  if (combineDataHash(job.data.files) !== job.data.hash) throw new Error(`malformed job ${jobId}: data.hash is not the hash of data.files`);
  const key = evaluationKey({ arch: job.arch, fidelity: job.fidelity, training: job.training, dataHash: job.data.hash, seed: job.searchSeed, evaluator: { module: '', ...job.evaluator } });
  if (key !== job.key) throw new Error(`malformed job ${jobId}: the key is not the content address of the job's architecture, fidelity, training, data and seed`);
  return job;
}

/** Checks a worker's result before the stage stores it. */
export function validateResult(key: string, value: unknown): QueueResult {
  const v = getValidators().result;
  if (!v(value)) throw new Error(`the queue returned a malformed result for ${key}: ${describeErrors(v.errors)}`);
  const r = value as QueueResult;
  if (r.key !== key) throw new Error(`the queue returned the result of ${r.key} for ${key}`);
  return r;
}

/** Who this process is, in logs and results. */
export function workerId(name?: string): string {
  return name ?? `${hostname()}:${process.pid}`;
}

/**
 * ioredis options for a queue URL: redis://host:port[/db], rediss:// for TLS. Credentials come
 * from the environment only; a URL that holds them is refused (it ends up in logs and caches).
 */
export function redisOptions(url: string, where = 'search.queue'): RedisOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new DeepMakerError(`'${url}' is not a URL`, { where }, 'write redis://host:port[/db], or rediss://host:port[/db] for TLS');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new DeepMakerError(`'${url}' is not a redis:// or rediss:// URL`, { where }, 'write redis://host:port[/db], or rediss://host:port[/db] for TLS');
  }
  if (u.username || u.password) {
    throw new DeepMakerError(
      `the queue URL must not hold a user name or password`,
      { where },
      `write ${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname} and put the password in the environment variable ${PASSWORD_VARIABLE} (an ACL user name in ${USERNAME_VARIABLE})`,
    );
  }
  const db = u.pathname && u.pathname !== '/' ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0 || u.search || u.hash) {
    throw new DeepMakerError(`'${url}': expected redis://host:port[/db] with a numeric db`, { where }, 'e.g. redis://10.0.0.5:6379/0');
  }
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const opts: RedisOptions = { host, port: u.port ? Number(u.port) : 6379, db };
  const password = process.env[PASSWORD_VARIABLE];
  const username = process.env[USERNAME_VARIABLE];
  if (password) opts.password = password;
  if (username) opts.username = username;
  if (u.protocol === 'rediss:') opts.tls = { servername: host };
  return opts;
}

/**
 * Connects once, with a bounded number of tries, and checks the server: a clear error naming the
 * URL when Redis cannot be reached or refuses us. Never falls back to training locally.
 */
export async function checkRedis(url: string, where = 'search.queue'): Promise<void> {
  const opts = redisOptions(url, where);
  let lastError: Error | undefined;
  const client = new Redis({
    ...opts,
    lazyConnect: true,
    connectTimeout: 5000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: (times) => (times >= 3 ? null : 200 * times),
  });
  client.on('error', (e: Error) => (lastError = e));
  try {
    await client.connect();
    const info = await client.info('server');
    const version = /redis_version:(\d+)\./.exec(info)?.[1];
    if (version && Number(version) < 5) throw new Error(`Redis ${version}.x is too old: BullMQ needs 5 or later`);
  } catch (e) {
    const err = lastError ?? (e as Error);
    const msg = String(err.message ?? err);
    const hint = /NOAUTH|WRONGPASS|invalid password|invalid username/i.test(msg)
      ? `set ${PASSWORD_VARIABLE} (and ${USERNAME_VARIABLE} for an ACL user) to the server's credentials`
      : `start redis-server there (README, "Searching on many machines"), check the host, port and firewall${opts.tls ? ' and the TLS certificate' : ''}; without search.queue the search trains on this machine`;
    throw new DeepMakerError(`cannot use the job queue at ${url}: ${msg}`, { where }, hint);
  } finally {
    client.disconnect();
  }
}

/** What the stage tells the queue about the search, once: every job carries it. */
export interface QueueSearchContext {
  searchSeed: number;
  evaluator: EvaluatorRef;
  data: QueueJob['data'];
}

interface Tracked {
  key: string;
  wave: number;
  state: 'queued' | 'running' | 'done';
  worker?: string;
  onProgress?: (msg: string) => void;
}

/**
 * The nas stage's side of the queue: an EvaluationPool whose run() submits a job (jobId = key) and
 * resolves with the worker's validated result. A job already in the queue (a rerun after the stage
 * was killed) is not queued again: a finished one gives its result at once, a running one is
 * awaited, a failed one is retried. Prints, per generation and rung, how many of its trainings are
 * queued, running and done, and who ran each.
 */
export class QueuePool implements EvaluationPool {
  private tracked = new Map<string, Tracked>();
  private wave = 0;
  private waveLabel = '';
  private lastCounts = '';
  private backends = new Set<string>();
  private closed = false;
  private redisDown = false;

  private constructor(
    readonly url: string,
    private readonly queue: Queue,
    private readonly events: QueueEvents,
    private readonly context: QueueSearchContext,
    private readonly log: Logger,
    private readonly local?: { close(): Promise<void> },
  ) {
    events.on('active', ({ jobId }) => this.mark(jobId, 'running'));
    events.on('waiting', ({ jobId }) => this.mark(jobId, 'queued'));
    events.on('stalled', ({ jobId }) => {
      const t = this.tracked.get(jobId);
      if (t) this.log.warn(`queue: the worker running ${jobId.slice(0, 12)}${t.worker ? ` (${t.worker})` : ''} stopped answering; the job goes back to the queue`);
      this.mark(jobId, 'queued');
    });
    events.on('progress', ({ jobId, data }) => {
      const t = this.tracked.get(jobId);
      if (!t || !data || typeof data !== 'object') return;
      const p = data as Partial<QueueProgress>;
      if (typeof p.worker === 'string') t.worker = p.worker.slice(0, 300);
      this.mark(jobId, 'running');
      if (typeof p.message === 'string') t.onProgress?.(`${p.message.slice(0, 500)} (on ${t.worker})`);
    });
    const onError = (e: Error) => {
      if (this.closed || this.redisDown) return;
      this.redisDown = true;
      this.log.warn(`queue: lost the connection to ${url} (${e.message}); reconnecting`);
    };
    queue.on('error', onError);
    events.on('error', onError);
  }

  /**
   * Checks that Redis answers (or throws a DeepMakerError naming the URL), then opens the queue. With
   * `localWorkers` > 0, this process also takes jobs from the queue with that many training processes.
   */
  static async open(o: { url: string; context: QueueSearchContext; log: Logger; localWorkers: number; workspaceRoot: string }): Promise<QueuePool> {
    await checkRedis(o.url);
    const connection = redisOptions(o.url);
    const queue = new Queue(QUEUE_NAME, { connection, prefix: QUEUE_PREFIX });
    const events = new QueueEvents(QUEUE_NAME, { connection, prefix: QUEUE_PREFIX });
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
    let local: { close(): Promise<void> } | undefined;
    if (o.localWorkers > 0) {
      const { QueueWorker } = await import('./queue-worker.js');
      local = await QueueWorker.start({ url: o.url, concurrency: o.localWorkers, workspaceRoot: o.workspaceRoot, evaluator: o.context.evaluator, log: o.log });
    }
    o.log.info(`queue ${o.url}: submitting trainings as BullMQ jobs${o.localWorkers > 0 ? `; ${o.localWorkers} local worker process${o.localWorkers > 1 ? 'es' : ''} take jobs too` : ' (this machine trains none)'}`);
    return new QueuePool(o.url, queue, events, o.context, o.log, local);
  }

  async run(task: EvaluationTask, onProgress?: (msg: string) => void, meta?: RunMeta): Promise<EvaluationResult> {
    if (this.closed) throw new Error('the queue pool is closed');
    if (task.seed !== seedFromKey(task.key)) throw new Error(`task ${task.key} has a seed not derived from its key`);
    // A worker derives a stratified subset's seed from the job's search seed (queue-worker.ts), as the search does.
    const subsetSeed = task.fidelity.stratified ? stratifiedSubsetSeed(this.context.searchSeed) : undefined;
    if (task.subsetSeed !== subsetSeed) throw new Error(`task ${task.key} has a subset seed not derived from the search seed ${this.context.searchSeed}`);
    this.startWave(meta);
    const t: Tracked = { key: task.key, wave: this.wave, state: 'queued', onProgress };
    this.tracked.set(task.key, t);
    const data: QueueJob = {
      format: JOB_FORMAT,
      key: task.key,
      arch: task.arch,
      fidelity: { epochs: task.fidelity.epochs, subset: task.fidelity.subset, ...(task.fidelity.stratified ? { stratified: true as const } : {}) },
      training: task.training,
      searchSeed: this.context.searchSeed,
      evaluator: { name: this.context.evaluator.name, version: this.context.evaluator.version },
      data: this.context.data,
    };
    try {
      // A job with this key may be in the queue already (a rerun after the stage was killed): a
      // finished one gives its result, a waiting or running one is awaited, a failed one retried.
      let job: Job | undefined = await this.queue.getJob(task.key);
      const state = job ? await job.getState() : 'unknown';
      if (job && state === 'failed') {
        this.log.info(`queue: ${task.key.slice(0, 12)} failed before (${job.failedReason}); retrying it`);
        await job.retry('failed');
      } else if (!job || state === 'unknown') {
        job = await this.queue.add('train', data, {
          jobId: task.key,
          attempts: 3,
          backoff: { type: 'fixed', delay: 1000 },
          // Finished jobs stay a while, so that a rerun after the stage was killed finds their results.
          removeOnComplete: { age: 14 * 24 * 3600 },
          removeOnFail: { age: 14 * 24 * 3600 },
        });
      }
      this.count();
      let value: unknown;
      try {
        value = await job.waitUntilFinished(this.events);
      } catch (e) {
        throw new DeepMakerError(
          `training ${task.key.slice(0, 12)} failed in the queue at ${this.url}: ${(e as Error).message}`,
          { where: 'search.queue' },
          'the reason comes from the worker; fix it on that machine (same lockfile and workspace as here) and rerun: finished trainings are kept',
        );
      }
      const r = validateResult(task.key, value);
      t.worker = r.worker;
      this.mark(task.key, 'done');
      if (r.result.backend) {
        this.backends.add(r.result.backend);
        if (this.backends.size === 2) {
          this.log.warn(`queue: trainings ran on different TensorFlow.js backends (${[...this.backends].join(', ')}); results then depend on the machine: set search.training.backend (e.g. wasm) to one backend`);
        }
      }
      const { validationLoss, imagesPerSecond, ...rest } = r.result;
      return { ...rest, ...(validationLoss == null ? {} : { validationLoss }), ...(imagesPerSecond == null ? {} : { imagesPerSecond }), worker: r.worker };
    } finally {
      if (t.state !== 'done') this.mark(task.key, 'done');
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([this.local?.close(), this.events.close(), this.queue.close()]);
  }

  private startWave(meta?: RunMeta): void {
    const label = meta ? (meta.final ? `final rung ${meta.rung} (confirmation)` : `gen ${meta.generation} rung ${meta.rung}`) : '';
    const outstanding = [...this.tracked.values()].some((t) => t.wave === this.wave && t.state !== 'done');
    if (!outstanding || label !== this.waveLabel) {
      this.wave++;
      this.waveLabel = label;
      this.lastCounts = '';
    }
  }

  private mark(jobId: string, state: Tracked['state']): void {
    const t = this.tracked.get(jobId);
    if (!t || t.state === 'done' || t.state === state) return;
    t.state = state;
    this.count();
  }

  /** One line whenever the counts of the current generation's rung change. */
  private count(): void {
    const wave = [...this.tracked.values()].filter((t) => t.wave === this.wave);
    const n = (s: Tracked['state']) => wave.filter((t) => t.state === s).length;
    const counts = `${n('queued')} queued, ${n('running')} running, ${n('done')} done`;
    if (counts === this.lastCounts) return;
    this.lastCounts = counts;
    const workers = new Map<string, number>();
    for (const t of wave) if (t.state === 'done' && t.worker) workers.set(t.worker, (workers.get(t.worker) ?? 0) + 1);
    const by = [...workers].map(([w, k]) => `${w} ${k}`).join(', ');
    this.log.info(`queue${this.waveLabel ? ` ${this.waveLabel}` : ''}: ${counts}${by ? ` (trained by ${by})` : ''}`);
  }
}
