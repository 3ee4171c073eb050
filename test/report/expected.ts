/** What the page tests share: the fixture run and the sections and figures a whole flow's page has. */
import { join } from 'node:path';

/** Reports and figures of a real run of the whole flow on a tiny project (fixtures/make-flow.ts). */
export const FLOW = join(__dirname, 'fixtures', 'flow');
export const SECTIONS = ['data', 'search', 'training', 'quantization', 'c-model', 'dse', 'hardware', 'bit-exact', 'reports'];
export const FIGURES = ['nas-pareto', 'nas-hypervolume', 'train-loss', 'train-accuracy', 'verify-sweep', 'dse-pareto', 'resources'];
