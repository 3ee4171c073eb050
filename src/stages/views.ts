import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { STAGES } from './registry';
import { DeepMakerError } from '../util/errors';
import { sha256File, writeFileAtomically } from '../util/fs';
import type { Spec } from '../spec/types';

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

/**
 * The file name of a stage's view in dist/spec: `<stage>.json`, except for the `report` stage,
 * whose name would take the spec stage's own report.json.
 */
export function specViewFile(stage: string): string {
  return stage === 'report' ? 'report-page.json' : `${stage}.json`;
}

export function specViewPath(projectRoot: string, stage: string): string {
  return join(projectRoot, 'dist', 'spec', specViewFile(stage));
}

/**
 * A digest of every file the spec names, for the spec target's Nx `runtime` input. Nx hashes only
 * files git would track inside the workspace, so a gitignored dataset or one outside the project
 * folder would otherwise leave `spec` cached with stale file digests. The digest is of contents (so
 * another clone with the same data gets the same hash and a remote cache hit); each file's sha256 is
 * memoised by (size, mtime) in .deepmaker/file-digests.json so an unchanged dataset is not reread.
 * Never throws: a broken spec stamps as such and the spec target reports the error itself.
 */
export async function referencedFilesStamp(projectRoot: string, load: (file: string) => Spec): Promise<string> {
  let spec: Spec;
  try {
    spec = load(join(projectRoot, 'deepmaker.yaml'));
  } catch {
    return 'spec-invalid';
  }
  const memoFile = join(projectRoot, '.deepmaker', 'file-digests.json');
  let memo: Record<string, string> = {};
  try {
    memo = JSON.parse(readFileSync(memoFile, 'utf8'));
  } catch {
    /* no memo yet */
  }
  const next: Record<string, string> = {};
  const stamp: string[] = [];
  for (const stage of STAGES) {
    for (const f of stage.files?.(spec, projectRoot) ?? []) {
      const abs = resolve(projectRoot, f);
      try {
        const st = statSync(abs);
        const key = `${abs}:${st.size}:${st.mtimeMs}`;
        next[key] = memo[key] ?? (await sha256File(abs));
        stamp.push(`${relative(projectRoot, abs)}:${next[key]}`);
      } catch {
        stamp.push(`${f}:missing`);
      }
    }
  }
  try {
    writeFileAtomically(memoFile, JSON.stringify(next));
  } catch {
    /* a read-only project still gets its stamp */
  }
  return [...new Set(stamp)].sort().join('\n') || 'no-files';
}
