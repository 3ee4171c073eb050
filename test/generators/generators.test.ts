import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readNxJson, updateNxJson } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import initGenerator from '../../generators/init/generator';
import modelGenerator from '../../generators/model/generator';
import { parseSpec } from '../../src/spec/load';

describe('generators', () => {
  it('init registers the plugin and ignores dist/ and .deepmaker/, idempotently', async () => {
    const tree = createTreeWithEmptyWorkspace();
    tree.write('.gitignore', 'node_modules\n/dist');
    await initGenerator(tree);
    const plugins = readNxJson(tree)!.plugins!;
    assert.deepEqual(plugins.filter((p) => typeof p !== 'string' && p.plugin === 'deepmaker/plugin'), [{ plugin: 'deepmaker/plugin', include: ['**/deepmaker.yaml'] }]);
    const ignore = tree.read('.gitignore', 'utf-8')!;
    assert.match(ignore, /^node_modules\n\/dist\n/, 'keeps what was there');
    assert.ok(ignore.includes('.deepmaker/'));
    assert.equal(ignore.match(/dist/g)!.length, 1, 'an existing /dist entry counts');
    const nxBefore = tree.read('nx.json', 'utf-8');
    await initGenerator(tree);
    assert.equal(tree.read('nx.json', 'utf-8'), nxBefore, 'a second run leaves nx.json as it was');
    assert.equal(tree.read('.gitignore', 'utf-8'), ignore, 'and .gitignore');
  });

  it('init recognises a plugin registered as a plain string', async () => {
    const tree = createTreeWithEmptyWorkspace();
    updateNxJson(tree, { ...readNxJson(tree)!, plugins: ['deepmaker/plugin'] });
    await initGenerator(tree);
    assert.deepEqual(readNxJson(tree)!.plugins, ['deepmaker/plugin']);
  });

  it('model scaffolds a spec that validates, with a board matching the device', async () => {
    const tree = createTreeWithEmptyWorkspace();
    await modelGenerator(tree, { name: 'foo', dataset: 'mnist', device: 'ice40-hx8k' });
    const text = tree.read('models/foo/deepmaker.yaml', 'utf-8')!;
    const spec = parseSpec(text, 'models/foo/deepmaker.yaml');
    assert.equal(spec.name, 'foo');
    assert.equal(spec.data.dataset, 'mnist');
    assert.equal(spec.target.device, 'ice40-hx8k');
    assert.equal(spec.target.board, 'ice40-hx8k-breakout');
    assert.match(text, /\$schema=\.\.\/\.\.\/node_modules\/deepmaker\/schemas\/deepmaker\.schema\.json/);
    assert.ok(readNxJson(tree)!.plugins!.some((p) => typeof p !== 'string' && p.plugin === 'deepmaker/plugin'), 'the plugin is registered too');
  });

  it('model names the data files each dataset kind needs, and every variant validates', async () => {
    for (const dataset of ['idx', 'cifar10', 'npy', 'npz', 'csv'] as const) {
      const tree = createTreeWithEmptyWorkspace();
      await modelGenerator(tree, { name: `m-${dataset}`, dataset, device: 'ice40-up5k', directory: 'apps/ml' });
      const file = `apps/ml/m-${dataset}/deepmaker.yaml`;
      const spec = parseSpec(tree.read(file, 'utf-8')!, file);
      assert.equal(spec.data.dataset, dataset);
      assert.ok(spec.data.train && spec.data.test, `${dataset}: train and test files are named`);
      assert.equal(spec.target.board, 'icebreaker');
    }
    const tree = createTreeWithEmptyWorkspace();
    await modelGenerator(tree, { name: 'lp', device: 'ice40-lp8k' });
    assert.equal(parseSpec(tree.read('models/lp/deepmaker.yaml', 'utf-8')!, 'x').target.board, 'none');
  });

  it('model refuses a bad name and an existing project', async () => {
    const tree = createTreeWithEmptyWorkspace();
    await assert.rejects(modelGenerator(tree, { name: 'Foo_1' }), /not a valid project name/);
    await modelGenerator(tree, { name: 'foo' });
    await assert.rejects(modelGenerator(tree, { name: 'foo' }), /models\/foo\/deepmaker\.yaml already exists/);
  });
});
