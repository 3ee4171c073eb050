import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { idxFiles, tasks, Workspace, writeIdxDataset } from './workspace';

/**
 * The Nx mapping, end to end (DESIGN §4): a temporary workspace with the plugin installed, a root
 * project `model` (an IDX dataset) and a second project `other` (a CSV dataset) under models/.
 * The steps share one workspace and run in order.
 */
const MODEL_YAML = `# the root project
name: model
data:
  dataset: idx
  train: { images: data/train-images.idx, labels: data/train-labels.idx }
  test: { images: data/test-images.idx, labels: data/test-labels.idx }
  seed: 1
`;
const OTHER_YAML = `name: other
data:
  dataset: csv
  train: { files: [train.csv] }
  test: { files: [test.csv] }
`;

describe('nx: caching per stage', () => {
  const ws = new Workspace();
  // The data stage writes a new report.json on every run; Nx keeps (or restores) it as it was on a cache hit.
  const dataStamp = () => statSync(join(ws.root, 'dist', 'data', 'report.json')).mtimeMs;
  let lastData: number;

  before(async () => {
    writeIdxDataset(ws, 'data/', { train: 300, test: 60, classes: 10, seed: 1 });
    ws.write('deepmaker.yaml', MODEL_YAML);
    ws.write('models/other/deepmaker.yaml', OTHER_YAML);
    ws.write('models/other/train.csv', 'a,b,label\n' + Array.from({ length: 40 }, (_, i) => `${i},${i % 5},${i % 3}`).join('\n') + '\n');
    ws.write('models/other/test.csv', 'a,b,label\n1,2,0\n3,4,1\n5,6,2\n');
    // The plugin is added the way a user adds it.
    const init = await ws.nx(['g', 'deepmaker:init']);
    assert.equal(init.code, 0, init.out);
  });
  after(() => ws.remove());

  it('init registered the plugin and ignored the outputs', () => {
    assert.match(ws.read('nx.json'), /"plugin": "deepmaker\/plugin"/);
    assert.match(ws.read('.gitignore'), /^dist\/$/m);
    assert.match(ws.read('.gitignore'), /^\.deepmaker\/$/m);
  });

  it('`nx show project model --json` lists spec and data, data depending on spec and reading its view', async () => {
    const r = await ws.nx(['show', 'project', 'model', '--json']);
    assert.equal(r.code, 0, r.out);
    const project = JSON.parse(r.out.slice(r.out.indexOf('{')));
    assert.equal(project.name, 'model');
    assert.ok(project.targets.spec && project.targets.data, Object.keys(project.targets).join());
    assert.deepEqual(project.targets.data.dependsOn, ['spec']);
    assert.ok(project.targets.data.inputs.some((i: { dependentTasksOutputFiles?: string }) => i.dependentTasksOutputFiles === 'dist/spec/data.json'));
    assert.deepEqual(project.targets.data.outputs, ['{projectRoot}/dist/data']);
    // No spec value goes into a target.
    for (const t of Object.values(project.targets) as { options?: object }[]) assert.deepEqual(t.options ?? {}, {});
    const projects = await ws.nx(['show', 'projects']);
    assert.deepEqual(projects.out.trim().split(/\s+/).sort(), ['model', 'other']);
  });

  it('the first `nx run model:data` runs spec and data', async () => {
    const r = await ws.nx(['run', 'model:data', '--output-style=static']);
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(tasks(r.out), { 'model:spec': 'ran', 'model:data': 'ran' });
    assert.match(ws.read('dist/data/report.json'), /"train": 270/);
    lastData = dataStamp();
  });

  it('a second `nx run model:data` is a cache hit', async () => {
    const r = await ws.nx(['run', 'model:data', '--output-style=static']);
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(tasks(r.out), { 'model:spec': 'local cache', 'model:data': 'local cache' });
    assert.equal(dataStamp(), lastData, 'the data stage did not run');
  });

  it('editing another section (dse:) reruns spec only; data stays cached', async () => {
    ws.write('deepmaker.yaml', MODEL_YAML + 'dse:\n  algorithm: exhaustive\n');
    const r = await ws.nx(['run', 'model:data', '--output-style=static']);
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(tasks(r.out), { 'model:spec': 'ran', 'model:data': 'local cache' });
    assert.equal(dataStamp(), lastData, 'the data stage did not run');
  });

  it('editing a YAML comment reruns spec only', async () => {
    ws.write('deepmaker.yaml', MODEL_YAML.replace('# the root project', '# the root project, now with a longer comment') + 'dse:\n  algorithm: exhaustive\n');
    const r = await ws.nx(['run', 'model:data', '--output-style=static']);
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(tasks(r.out), { 'model:spec': 'ran', 'model:data': 'local cache' });
  });

  it('editing the data section reruns data', async () => {
    ws.write('deepmaker.yaml', MODEL_YAML.replace('seed: 1', 'seed: 7'));
    const r = await ws.nx(['run', 'model:data', '--output-style=static']);
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(tasks(r.out), { 'model:spec': 'ran', 'model:data': 'ran' });
    assert.match(ws.read('dist/data/report.json'), /"seed": 7/);
    assert.notEqual(dataStamp(), lastData, 'the data stage ran');
    lastData = dataStamp();
  });

  it('editing a data file reruns data', async () => {
    ws.write('data/test-labels.idx', idxFiles(60, 10, 3).labels);
    const r = await ws.nx(['run', 'model:data', '--output-style=static']);
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(tasks(r.out), { 'model:spec': 'ran', 'model:data': 'ran' });
  });

  it('editing a gitignored data file reruns data too (Nx does not hash it; the spec target stamps it)', async () => {
    ws.write('.gitignore', ws.read('.gitignore') + 'data/\n');
    const first = await ws.nx(['run', 'model:data', '--output-style=static']);
    assert.equal(first.code, 0, first.out);
    ws.write('data/test-labels.idx', idxFiles(60, 10, 4).labels);
    const r = await ws.nx(['run', 'model:data', '--output-style=static']);
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(tasks(r.out), { 'model:spec': 'ran', 'model:data': 'ran' });
    const again = await ws.nx(['run', 'model:data', '--output-style=static']);
    assert.deepEqual(tasks(again.out), { 'model:spec': 'local cache', 'model:data': 'local cache' });
  });

  it('a mistyped key fails with file:line:column and a suggestion', async () => {
    ws.write('deepmaker.yaml', MODEL_YAML.replace('  seed: 1', '  seeed: 1'));
    const r = await ws.nx(['run', 'model:data', '--output-style=static']);
    assert.notEqual(r.code, 0);
    assert.match(r.out, /deepmaker\.yaml:7:3: 'data\.seeed': unknown key 'seeed'; did you mean 'seed'\?/);
    ws.write('deepmaker.yaml', MODEL_YAML);
  });

  it('malformed YAML in one project leaves the other project working', async () => {
    ws.write('models/other/deepmaker.yaml', 'name: other\ndata: [unclosed\n');
    const shown = await ws.nx(['show', 'projects']);
    assert.equal(shown.code, 0, shown.out);
    assert.deepEqual(shown.out.trim().split(/\s+/).sort(), ['model', 'other'], 'both projects are still listed');
    const broken = await ws.nx(['run', 'other:spec', '--output-style=static']);
    assert.notEqual(broken.code, 0);
    assert.match(broken.out, /models\/other\/deepmaker\.yaml:\d+:\d+: malformed YAML/);
    const good = await ws.nx(['run', 'model:data', '--output-style=static']);
    assert.equal(good.code, 0, good.out);
    // And the other way round: the root project broken, `other` fixed and working.
    ws.write('models/other/deepmaker.yaml', OTHER_YAML);
    ws.write('deepmaker.yaml', MODEL_YAML + 'search: {{\n');
    const other = await ws.nx(['run', 'other:data', '--output-style=static']);
    assert.equal(other.code, 0, other.out);
    assert.deepEqual(tasks(other.out), { 'other:spec': 'ran', 'other:data': 'ran' });
    assert.match(ws.read('models/other/dist/data/report.json'), /"classes": 3/);
    const listed = await ws.nx(['show', 'projects']);
    assert.equal(listed.out.trim().split(/\s+/).length, 2, listed.out);
    ws.write('deepmaker.yaml', MODEL_YAML);
  });

  it('`nx g deepmaker:model` makes a project that validates and runs', async () => {
    const g = await ws.nx(['g', 'deepmaker:model', 'third', '--dataset=mnist', '--device=ice40-hx8k']);
    assert.equal(g.code, 0, g.out);
    const v = await ws.deepmaker(['validate', 'models/third/deepmaker.yaml']);
    assert.equal(v.code, 0, v.out);
    assert.match(v.out, /valid \(project 'third'\)/);
    const projects = await ws.nx(['show', 'projects']);
    assert.deepEqual(projects.out.trim().split(/\s+/).sort(), ['model', 'other', 'third']);
    const spec = await ws.nx(['run', 'third:spec', '--output-style=static']);
    assert.equal(spec.code, 0, spec.out);
    assert.match(ws.read('models/third/dist/spec/data.json'), /"dataset": "mnist"/);
  });
});
