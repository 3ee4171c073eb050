import type { Logger } from '../util/log';

/** What a stage function gets. Stages are plain functions over files; Nx executors and the CLI both call them. */
export interface StageContext<View = any> {
  stage: string;
  /** Absolute path of the folder holding deepmaker.yaml. */
  projectRoot: string;
  workspaceRoot: string;
  /** The stage's own part of the spec, read from dist/spec/<stage>.json (never the YAML). */
  spec: View;
  /** A fresh temporary folder; it becomes dist/<stage> when the stage returns (atomic rename). */
  outDir: string;
  /** dist/<stage> of an upstream stage (absolute). */
  inputDir(stage: string): string;
  /** A persistent work folder for this stage (.deepmaker/<stage>), kept across runs and kills: resumable work goes here. */
  workDir: string;
  log: Logger;
}

export type StageRunner<View = any> = (ctx: StageContext<View>) => Promise<void>;
