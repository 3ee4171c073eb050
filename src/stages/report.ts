/**
 * The report stage: reads each stage's dist/<stage>/report.json and the SVG figures beside it, and
 * writes dist/report/index.html (page.ts) and report.json (what was found of each stage).
 *
 * It never fails on a stage that is missing or skipped: the page says so in that stage's section.
 * A report.json that is not a JSON object is named on the page and in a warning.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson } from '../util/fs';
import type { Logger } from '../util/log';
import { PAGE_STAGES, reportPage, type PageInput, type StageOutput } from '../report/page';

/** What the stage needs of its context (the plugin's StageContext satisfies it). */
export interface ReportStageContext {
  spec: { name?: string };
  projectRoot: string;
  outDir: string;
  inputDir(stage: string): string;
  log: Logger;
}

/** One stage's output as the page sees it: its report (or why it could not be read) and its SVGs. */
export function readStageOutput(dir: string): StageOutput | undefined {
  const file = join(dir, 'report.json');
  if (!existsSync(file)) return undefined;
  const figures: Record<string, string> = {};
  for (const f of readdirSync(dir).sort()) if (f.endsWith('.svg')) figures[f] = readFileSync(join(dir, f), 'utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    return { problem: `not valid JSON (${(e as Error).message})`, figures };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { problem: 'not a JSON object', figures };
  return { report: parsed as Record<string, unknown>, figures };
}

/** Reads every stage the page shows from `inputDir(stage)`. */
export function readFlow(inputDir: (stage: string) => string): PageInput['stages'] {
  const stages: PageInput['stages'] = {};
  for (const s of PAGE_STAGES) {
    const out = readStageOutput(inputDir(s));
    if (out) stages[s] = out;
  }
  return stages;
}

export async function runReportStage(ctx: ReportStageContext): Promise<void> {
  const stages = readFlow((s) => ctx.inputDir(s));
  const project = ctx.spec.name ?? 'model';
  writeFileSync(join(ctx.outDir, 'index.html'), reportPage({ project, stages }));
  const status = Object.fromEntries(
    PAGE_STAGES.map((s) => {
      const o = stages[s];
      return [s, !o ? 'missing' : o.problem ? 'unreadable' : o.report?.skipped === true ? 'skipped' : 'done'];
    }),
  );
  for (const s of PAGE_STAGES) if (stages[s]?.problem) ctx.log.warn(`dist/${s}/report.json: ${stages[s]!.problem}; the page says so in its section`);
  const absent = PAGE_STAGES.filter((s) => status[s] !== 'done');
  writeFileSync(join(ctx.outDir, 'report.json'), canonicalJson({ page: 'index.html', project, stages: status, files: ['index.html', 'report.json'] }));
  ctx.log.info(`wrote ${join(ctx.projectRoot, 'dist', 'report', 'index.html')}${absent.length ? ` (${absent.map((s) => `${s} ${status[s]}`).join(', ')})` : ''}`);
}
