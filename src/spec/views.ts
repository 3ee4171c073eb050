import { existsSync, statSync } from 'node:fs';
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
    for (const f of stage.files?.(spec, projectRoot) ?? []) {
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

/**
 * A cheap stamp (path, size, mtime) of every file the spec names, for the spec target's Nx `runtime`
 * input. Nx hashes only files git would track inside the workspace, so a gitignored dataset or one
 * outside the project folder would otherwise leave `spec` cached with stale file digests. The stamp
 * makes spec rerun when such a file changes; spec then writes real sha256 digests, and a file
 * rewritten with equal content still cuts off there. Never throws: a broken spec stamps as such and
 * the spec target reports the error itself.
 */
export function referencedFilesStamp(projectRoot: string, load: (file: string) => Spec): string {
  let spec: Spec;
  try {
    spec = load(join(projectRoot, 'deepmaker.yaml'));
  } catch {
    return 'spec-invalid';
  }
  const stamp: string[] = [];
  for (const stage of STAGES) {
    for (const f of stage.files?.(spec, projectRoot) ?? []) {
      const abs = resolve(projectRoot, f);
      try {
        const st = statSync(abs);
        stamp.push(`${f}:${st.size}:${st.mtimeMs}`);
      } catch {
        stamp.push(`${f}:missing`);
      }
    }
  }
  return stamp.sort().join('\n') || 'no-files';
}
