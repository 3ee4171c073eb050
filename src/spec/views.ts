import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { STAGES } from '../plugin/stages';
import { DeepMakerError } from '../util/errors';
import { sha256File } from '../util/fs';
import type { Spec } from './types';

/**
 * The per-stage views written by the spec stage: each stage's part of the spec plus the sha256 of
 * the files it reads. A stage depends on its view's bytes, so editing one section (or one data file)
 * reruns just the stages that read it.
 */
export async function stageViews(spec: Spec, projectRoot: string, specFile: string): Promise<Record<string, unknown>> {
  const views: Record<string, unknown> = {};
  for (const stage of STAGES) {
    const files: Record<string, string> = {};
    for (const f of stage.files?.(spec) ?? []) {
      const abs = resolve(projectRoot, f);
      if (!existsSync(abs)) {
        throw new DeepMakerError(`file '${f}' named by the spec does not exist (looked for ${abs})`, { file: specFile, where: stage.name }, 'paths are relative to the folder of deepmaker.yaml');
      }
      files[relative(projectRoot, abs) || f] = await sha256File(abs);
    }
    views[stage.name] = { ...(stage.view(spec) as object), files };
  }
  return views;
}

export function specViewPath(projectRoot: string, stage: string): string {
  return join(projectRoot, 'dist', 'spec', `${stage}.json`);
}
