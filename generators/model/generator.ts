import { generateFiles, joinPathFragments, offsetFromRoot, type Tree } from '@nx/devkit';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BOARDS } from '../../src/fpga/boards';
import type { DataSpec } from '../../src/spec/types';
import { DeepMakerError } from '../../src/util/errors';
import initGenerator from '../init/generator';

export interface ModelOptions {
  name: string;
  dataset?: DataSpec['dataset'];
  device?: string;
  /** Folder that holds model projects (default `models`). */
  directory?: string;
}

/** A placeholder for the files each dataset kind reads, under the project's data/ folder. */
const DATA_FILES: Record<DataSpec['dataset'], string[]> = {
  mnist: [],
  idx: ['train: { images: data/train-images-idx3-ubyte, labels: data/train-labels-idx1-ubyte }', 'test: { images: data/t10k-images-idx3-ubyte, labels: data/t10k-labels-idx1-ubyte }'],
  cifar10: [
    'train: { files: [data/data_batch_1.bin, data/data_batch_2.bin, data/data_batch_3.bin, data/data_batch_4.bin, data/data_batch_5.bin] }',
    'test: { files: [data/test_batch.bin] }',
  ],
  npy: ['train: { x: data/train_x.npy, y: data/train_y.npy }', 'test: { x: data/test_x.npy, y: data/test_y.npy }'],
  npz: ['train: { files: [data/train.npz] }', 'test: { files: [data/test.npz] }', 'npz: { x: x, y: y }'],
  csv: ['train: { files: [data/train.csv] }', 'test: { files: [data/test.csv] }', 'csv: { label: -1, header: true }'],
};

/** The templates: generators/model/files in the source tree, reached from build/generators/model too. */
function templateDir(): string {
  for (const d of [join(__dirname, 'files'), join(__dirname, '..', '..', '..', 'generators', 'model', 'files')]) if (existsSync(d)) return d;
  throw new Error(`deepmaker: the model templates are missing (looked beside ${__dirname})`);
}

/**
 * `nx g deepmaker:model <name> --dataset=<kind> --device=<fpga>`: a new project
 * <directory>/<name>/deepmaker.yaml. Registers the plugin first if the workspace lacks it.
 */
export default async function modelGenerator(tree: Tree, options: ModelOptions): Promise<void> {
  const name = options.name;
  if (!/^[a-z][a-z0-9-]*$/.test(name ?? '')) {
    throw new DeepMakerError(`'${name}' is not a valid project name`, { where: 'nx g deepmaker:model' }, 'use lower-case letters, digits and dashes, starting with a letter (e.g. kws)');
  }
  const dataset = options.dataset ?? 'mnist';
  if (!(dataset in DATA_FILES)) throw new DeepMakerError(`unknown dataset '${dataset}'`, { where: '--dataset' }, `use one of ${Object.keys(DATA_FILES).join(', ')}`);
  const device = options.device ?? 'ice40-up5k';
  const root = joinPathFragments(options.directory ?? 'models', name);
  if (tree.exists(joinPathFragments(root, 'deepmaker.yaml'))) {
    throw new DeepMakerError(`${root}/deepmaker.yaml already exists`, { where: 'nx g deepmaker:model' }, 'pick another name, or edit that file');
  }
  await initGenerator(tree, { skipFormat: true });
  const board = Object.values(BOARDS).find((b) => b.device === device)?.name ?? 'none';
  generateFiles(tree, templateDir(), root, {
    name,
    dataset,
    device,
    board,
    schema: `${offsetFromRoot(root)}node_modules/deepmaker/schemas/deepmaker.schema.json`,
    dataLines: DATA_FILES[dataset as DataSpec['dataset']],
    template: '',
  });
}
