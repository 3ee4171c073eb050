import type { ExecutorContext } from '@nx/devkit';
import { BoardExecutorOptions, runBoardExecutor } from '../../src/plugin/executor';

export default function boardExecutor(options: BoardExecutorOptions, context: ExecutorContext) {
  return runBoardExecutor(options, context);
}
