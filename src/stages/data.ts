import { join } from 'node:path';
import type { StageContext } from './context';
import type { DataSpec } from '../spec/types';
import { DeepMakerError } from '../util/errors';
import { canonicalJson } from '../util/fs';
import { writeFileSync } from 'node:fs';
import { writeNpy } from '../data/npy';
import { classCounts, prepare } from '../data/prepare';
import { readSource } from '../data/sources';
import { sequenceShape } from '../data/sequence';
import { DataReport, SPLITS, splitFiles } from '../data/tensors';

/** The data view written by the spec stage: the data section plus the sha256 of each file it names. */
export interface DataView {
  data: DataSpec;
  files: Record<string, string>;
}

/**
 * The data stage: read the dataset, split validation off the training set (seeded), normalise with
 * training statistics, write float32/int32 .npy tensors and report.json into ctx.outDir.
 */
export async function runDataStage(ctx: StageContext<DataView>): Promise<void> {
  const data = ctx.spec.data;
  const started = Date.now();
  const raw = readSource({ data, projectRoot: ctx.projectRoot, log: ctx.log });
  ctx.log.info(`read ${raw.train.count} training and ${raw.test.count} test samples of shape [${raw.train.shape.join(', ')}] in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  // data.sequence: rows: checked before the work, applied after normalisation (per image channel; see sequence.ts).
  const imageShape = raw.train.shape;
  const shape = data.sequence ? sequenceShape(imageShape, data.sequence, raw.train.files[0]) : imageShape;
  const prepared = prepare(raw, {
    validationSplit: data.validationSplit ?? 0.1,
    seed: data.seed ?? 1,
    normalize: data.normalize ?? 'scale',
    window: data.csv?.window,
    stride: data.csv?.stride,
  });
  const { splits } = prepared;
  if (data.sequence) {
    for (const s of SPLITS) splits[s].shape = shape;
    ctx.log.info(`data.sequence: rows: images [${imageShape.join(', ')}] are read as ${shape[0]} time steps of ${shape[1]} features`);
  }
  let maxLabel = -1;
  for (const s of SPLITS) for (const v of splits[s].y) if (v > maxLabel) maxLabel = v;
  const classes = raw.classNames?.length ?? maxLabel + 1;
  if (classes < 2) {
    throw new DeepMakerError(`only ${classes} class in the labels`, { file: raw.train.files[raw.train.files.length - 1] }, 'a classifier needs at least two classes; check the label column or file');
  }
  const files: string[] = [];
  for (const s of SPLITS) {
    const f = splitFiles(s);
    ctx.log.info(`writing ${s}: ${splits[s].count} samples`);
    writeNpy(join(ctx.outDir, f.x), splits[s].x, [splits[s].count, ...splits[s].shape]);
    writeNpy(join(ctx.outDir, f.y), splits[s].y, [splits[s].count]);
    files.push(f.x, f.y);
  }
  const report: DataReport = {
    dataset: data.dataset,
    counts: { train: splits.train.count, validation: splits.validation.count, test: splits.test.count },
    shape: splits.train.shape,
    ...(data.sequence ? { sequence: { mode: data.sequence, imageShape } } : {}),
    classes,
    ...(raw.classNames ? { classNames: raw.classNames } : {}),
    normalize: prepared.normalization.method,
    normalization: prepared.normalization,
    seed: data.seed ?? 1,
    validationSplit: data.validationSplit ?? 0.1,
    splitMethod: prepared.splitMethod,
    classCounts: {
      train: classCounts(splits.train.y, classes),
      validation: classCounts(splits.validation.y, classes),
      test: classCounts(splits.test.y, classes),
    },
    rawType: raw.rawType,
    sources: { train: raw.train.files, test: raw.test.files },
    ...(prepared.dropped ? { dropped: prepared.dropped } : {}),
    files,
  };
  writeFileSync(join(ctx.outDir, 'report.json'), canonicalJson(report));
  ctx.log.info(
    `${report.counts.train} train / ${report.counts.validation} validation / ${report.counts.test} test, shape [${report.shape.join(', ')}], ${classes} classes (${((Date.now() - started) / 1000).toFixed(1)} s)`,
  );
}
