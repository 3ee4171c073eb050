import type { ExecutorContext } from '@nx/devkit';
import { isAbsolute, join } from 'node:path';
import { PACKAGE_ROOT, RUNS_COMPILED, staleBuildMessage } from './build-freshness';
import { isDeepMakerError } from '../util/errors';
import { runStage } from '../stages/run';
import { consoleLogger } from '../util/log';

export interface BoardExecutorOptions {
  port?: string;
  simulate?: boolean;
  baud?: number;
  samples?: number;
  program?: boolean;
  timeout?: number;
}

function projectRootOf(context: ExecutorContext): string | undefined {
  const project = context.projectName ? context.projectsConfigurations?.projects[context.projectName] : undefined;
  if (!project) return undefined;
  return isAbsolute(project.root) ? project.root : join(context.root, project.root);
}

/** The task's project root once the compiled build is known to be current; undefined (said on stderr) otherwise. */
function readyProjectRoot(context: ExecutorContext): string | undefined {
  const projectRoot = projectRootOf(context);
  if (!projectRoot) {
    console.error('deepmaker: no project for this task');
    return undefined;
  }
  if (RUNS_COMPILED) {
    const stale = staleBuildMessage(PACKAGE_ROOT);
    if (stale) {
      console.error(stale);
      return undefined;
    }
  }
  return projectRoot;
}

/** Runs an executor's work: success, or the error on stderr (a DeepMakerError as its message alone). */
async function succeeds(work: () => Promise<void>): Promise<{ success: boolean }> {
  try {
    await work();
    return { success: true };
  } catch (e) {
    if (isDeepMakerError(e)) console.error(e.message);
    else console.error(e);
    return { success: false };
  }
}

/** The `board` target: `deepmaker board` with the target's options (src/board/run.ts). */
export async function runBoardExecutor(options: BoardExecutorOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  const projectRoot = readyProjectRoot(context);
  if (!projectRoot) return { success: false };
  return succeeds(async () => {
    const { runBoard } = await import('../board/run.js');
    const { summary } = await import('../board/cli.js');
    const report = await runBoard({
      projectRoot,
      port: options.port,
      simulate: options.simulate,
      baud: options.baud,
      samples: options.samples,
      program: options.program,
      timeoutMs: options.timeout,
      log: consoleLogger('board'),
      progress: (line, done) => {
        if (done || line.includes(' 1/')) console.log(line);
      },
    });
    console.log(summary(report));
  });
}

/** The body of every executor: find the project root and run the stage function. Nothing else lives in executors. */
export async function runStageExecutor(stage: string, context: ExecutorContext): Promise<{ success: boolean }> {
  const projectRoot = readyProjectRoot(context);
  if (!projectRoot) return { success: false };
  return succeeds(() => runStage(stage, projectRoot, context.root));
}
