/**
 * An evaluation worker process (forked by pool.ts). It loads the evaluator module once, then runs
 * the tasks the parent sends, one at a time, replying with the result or the error. It exits when
 * the parent goes away (even on kill -9 of the parent, the IPC channel closes), so no orphan keeps
 * training.
 */
import type { EvaluationResult, EvaluationTask, Evaluator, EvaluatorRef } from './evaluation';

export type ToWorker = { type: 'run'; id: number; evaluator: EvaluatorRef; task: EvaluationTask };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'progress'; id: number; message: string }
  | { type: 'done'; id: number; result: EvaluationResult }
  | { type: 'failed'; id: number; error: string; userError: boolean };

const evaluators = new Map<string, Evaluator>();

function load(ref: EvaluatorRef): Evaluator {
  const id = `${ref.module}#${ref.name}`;
  let e = evaluators.get(id);
  if (!e) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(ref.module) as Record<string, unknown>;
    if (typeof mod[ref.name] !== 'function') throw new Error(`${ref.module} does not export an evaluator '${ref.name}'`);
    e = mod[ref.name] as Evaluator;
    evaluators.set(id, e);
  }
  return e;
}

function send(m: FromWorker): void {
  process.send?.(m);
}

if (require.main === module) {
  process.on('disconnect', () => process.exit(0));
  process.on('message', async (m: ToWorker) => {
    if (m.type !== 'run') return;
    try {
      const result = await load(m.evaluator)(m.task, (message) => send({ type: 'progress', id: m.id, message }));
      send({ type: 'done', id: m.id, result });
    } catch (e) {
      const err = e as Error;
      send({ type: 'failed', id: m.id, error: err.name === 'DeepMakerError' ? err.message : err.stack ?? String(err), userError: err.name === 'DeepMakerError' });
    }
  });
  send({ type: 'ready' });
}
