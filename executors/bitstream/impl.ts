import type { ExecutorContext } from '@nx/devkit';
import { runStageExecutor } from '../../src/plugin/executor';

export default function bitstreamExecutor(_options: Record<string, never>, context: ExecutorContext) {
  return runStageExecutor('bitstream', context);
}
