/**
 * A pool of evaluation worker processes (child_process.fork of worker.ts / build's worker.js).
 * Processes, not threads: each gets its own TensorFlow.js backend and heap, and the single-threaded
 * wasm backend then uses one core per worker. Tasks are queued and handed to whichever worker is
 * free; results come back by task id, so the order of completion does not matter (and cannot
 * change a result: each task carries its own seed).
 */
import { ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { extname, join } from 'node:path';
import { DeepMakerError } from '../util/errors';
import type { Logger } from '../util/log';
import type { EvaluationResult, EvaluationTask, EvaluatorRef } from './evaluation';
import type { FromWorker, ToWorker } from './worker';

interface Job {
  id: number;
  task: EvaluationTask;
  resolve(r: EvaluationResult): void;
  reject(e: Error): void;
  onProgress?: (msg: string) => void;
}

interface Slot {
  child: ChildProcess;
  ready: boolean;
  job?: Job;
}

/** The worker script beside this file: worker.ts when running from source (tsx), worker.js from build/. */
export function workerScript(): string {
  const ext = extname(__filename);
  const f = join(__dirname, `worker${ext}`);
  if (!existsSync(f)) throw new Error(`evaluation worker not found at ${f}`);
  return f;
}

/** Which generation and rung a training belongs to (pools that report progress per generation use it). */
export interface RunMeta {
  generation: number;
  rung: number;
  /** The confirmation rung (search.fidelity.final), after the last generation. */
  final?: true;
}

/**
 * Where the search's trainings run: WorkerPool (processes on this machine) or QueuePool (a BullMQ
 * job queue, queue.ts). The search only calls run() and close().
 */
export interface EvaluationPool {
  run(task: EvaluationTask, onProgress?: (msg: string) => void, meta?: RunMeta): Promise<EvaluationResult>;
  close(): Promise<void>;
}

export class WorkerPool implements EvaluationPool {
  private slots: Slot[] = [];
  private queue: Job[] = [];
  private nextId = 1;
  private closed = false;

  constructor(readonly size: number, private readonly evaluator: EvaluatorRef, private readonly log: Logger) {
    if (!(size >= 1)) throw new RangeError('WorkerPool needs at least one worker');
  }

  /** Runs `task` on the next free worker. */
  run(task: EvaluationTask, onProgress?: (msg: string) => void): Promise<EvaluationResult> {
    if (this.closed) return Promise.reject(new Error('the worker pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, task, resolve, reject, onProgress });
      this.grow();
      this.dispatch();
    });
  }

  /** Pids of the live workers (tests check that none outlives its parent). */
  pids(): number[] {
    return this.slots.map((s) => s.child.pid!).filter((p) => p !== undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    const exits = this.slots.map((s) => new Promise<void>((res) => (s.child.exitCode !== null || s.child.signalCode !== null ? res() : s.child.once('exit', () => res()))));
    for (const s of this.slots) if (s.child.connected) s.child.disconnect();
    await Promise.all(exits);
    this.slots = [];
  }

  private grow(): void {
    const wanted = Math.min(this.size, this.slots.filter((s) => s.job).length + this.queue.length);
    for (let i = this.slots.length; i < wanted; i++) this.spawn();
  }

  private spawn(): void {
    // fork() passes this process's execArgv on, so under tsx (tests) the worker runs from source too.
    const child = fork(workerScript(), [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const slot: Slot = { child, ready: false };
    this.slots.push(slot);
    this.log.info(`evaluation worker ${child.pid} started`);
    child.on('message', (m: FromWorker) => this.onMessage(slot, m));
    child.on('exit', (code, signal) => {
      this.slots = this.slots.filter((s) => s !== slot);
      if (slot.job) {
        slot.job.reject(new Error(`evaluation worker ${child.pid} died (${signal ?? `exit code ${code}`}) while evaluating ${slot.job.task.key.slice(0, 12)}`));
        slot.job = undefined;
      }
      if (!this.closed && this.queue.length) {
        this.grow();
        this.dispatch();
      }
    });
  }

  private onMessage(slot: Slot, m: FromWorker): void {
    if (m.type === 'ready') {
      slot.ready = true;
      this.dispatch();
      return;
    }
    const job = slot.job;
    if (!job || job.id !== m.id) return;
    if (m.type === 'progress') {
      job.onProgress?.(m.message);
      return;
    }
    slot.job = undefined;
    if (m.type === 'done') job.resolve({ ...m.result, worker: m.result.worker ?? `${hostname()}:${slot.child.pid}` });
    else job.reject(m.userError ? new DeepMakerError(m.error) : new Error(`evaluation of ${job.task.key.slice(0, 12)} failed in worker ${slot.child.pid}: ${m.error}`));
    this.dispatch();
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (!slot.ready || slot.job || this.queue.length === 0) continue;
      const job = this.queue.shift()!;
      slot.job = job;
      const msg: ToWorker = { type: 'run', id: job.id, evaluator: this.evaluator, task: job.task };
      slot.child.send(msg);
    }
  }
}
