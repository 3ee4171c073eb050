/**
 * The convert stage: the trained model (dist/train/model/model.json) or the spec's `model:` file ->
 * dist/convert (layers.json + weights/, model.h, model.c, weights, harness.c, Makefile, knobs.json,
 * source/, report.json). DESIGN §5: report.json carries `layers` (the table) and `files`.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { StageContext } from './context';
import { DeepMakerError } from '../util/errors';
import { convertModel, type ConvertSpec } from '../cgen/convert';

export interface ConvertView {
  model?: string;
  convert: ConvertSpec;
}

export async function runConvertStage(ctx: StageContext<ConvertView>): Promise<void> {
  let file: string;
  let weights: string | undefined;
  if (ctx.spec.model) {
    file = resolve(ctx.projectRoot, ctx.spec.model);
    if (ctx.spec.convert.weights) weights = resolve(ctx.projectRoot, ctx.spec.convert.weights);
  } else {
    file = join(ctx.inputDir('train'), 'model', 'model.json');
    if (!existsSync(file)) {
      throw new DeepMakerError('the train stage wrote no model', { file }, 'run the train stage (nx run <project>:train), or set `model:` in deepmaker.yaml to convert an existing model');
    }
  }
  await convertModel({ file, weights, outDir: ctx.outDir, spec: ctx.spec.convert, log: ctx.log });
}
