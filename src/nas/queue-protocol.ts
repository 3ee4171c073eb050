/**
 * The job queue's wire protocol, shared by the nas stage's side (queue.ts) and the workers
 * (queue-worker.ts): names, the job and result schemas and their validation, and the Redis
 * connection options (the password from DEEPMAKER_REDIS_PASSWORD, never from the URL).
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import type { RedisOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { hostname } from 'node:os';
import type { Architecture } from '../nn/arch';
import { loadSchema } from '../spec/schema';
import { DeepMakerError } from '../util/errors';
import { sha256 } from '../util/fs';
import { evaluationKey, type EvaluationResult, type Fidelity, type SearchTraining } from './evaluation';

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
