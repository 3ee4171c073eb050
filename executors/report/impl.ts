import type { ExecutorContext } from '@nx/devkit';
import { runStageExecutor } from '../../src/plugin/executor';

export default function reportExecutor(_options: Record<string, never>, context: ExecutorContext) {
  return runStageExecutor('report', context);
}
