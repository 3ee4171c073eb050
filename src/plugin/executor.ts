import type { ExecutorContext } from '@nx/devkit';
import { isAbsolute, join } from 'node:path';
import { PACKAGE_ROOT, RUNS_COMPILED, staleBuildMessage } from './build-freshness';
import { isDeepMakerError } from '../util/errors';
import { runStage } from './runner';

/** The body of every executor: find the project root and run the stage function. Nothing else lives in executors. */
export async function runStageExecutor(stage: string, context: ExecutorContext): Promise<{ success: boolean }> {
  const project = context.projectName ? context.projectsConfigurations?.projects[context.projectName] : undefined;
  if (!project) {
    console.error(`deepmaker: no project for this task`);
    return { success: false };
  }
  const projectRoot = isAbsolute(project.root) ? project.root : join(context.root, project.root);
  if (RUNS_COMPILED) {
    const stale = staleBuildMessage(PACKAGE_ROOT);
    if (stale) {
      console.error(stale);
      return { success: false };
    }
  }
  try {
    await runStage(stage, projectRoot, context.root);
    return { success: true };
  } catch (e) {
    if (isDeepMakerError(e)) console.error(e.message);
    else console.error(e);
    return { success: false };
  }
}
