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
import { Queue, QueueEvents, type Job } from 'bullmq';
import { seedFromKey } from '../moo/rng';
import { DeepMakerError } from '../util/errors';
import type { Logger } from '../util/log';
import { stratifiedSubsetSeed, type EvaluationResult, type EvaluationTask, type EvaluatorRef } from './evaluation';
import type { EvaluationPool, RunMeta } from './pool';
import { QUEUE_PREFIX, QUEUE_NAME, JOB_FORMAT, validateResult, redisOptions, checkRedis, type QueueJob, type QueueProgress } from './queue-protocol';

export * from './queue-protocol';

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
