/**
 * What the importer fuzz tests (test/fuzz/importers.fuzz.test.ts) found, one case each: every one
 * escaped as a TypeError, named no file, or never returned before the fix.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadModel } from '../../src/importers';
import { isDeepMakerError } from '../../src/util/errors';
import { cnnModel, saveTfjsModel, seqModel } from '../cgen/tfjs-models';
import { KERAS_FIXTURES } from '../fixtures/location';
import { mutateBytes } from '../fuzz/mutate';

const REPO = join(__dirname, '..', '..');

describe('importer holes found by fuzzing', () => {
  let dir: string;
  const models: Record<'seq' | 'cnn', { json: any; dir: string }> = {} as any;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dm-fuzz-found-'));
    for (const [k, make] of [['seq', seqModel], ['cnn', cnnModel]] as const) {
      const d = join(dir, `${k}-seed`);
      mkdirSync(d);
      models[k] = { json: JSON.parse(readFileSync(await saveTfjsModel(make(), d), 'utf8')), dir: d };
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  let n = 0;
  /** `edit` applied to a copy of a TF.js model.json (its shards beside it); the load must give a DeepMakerError naming model.json and matching `re`. */
  async function refused(which: 'seq' | 'cnn', edit: (topology: any) => void, re: RegExp): Promise<void> {
    const d = join(dir, `case-${++n}`);
    mkdirSync(d);
    const json = structuredClone(models[which].json);
    edit(json.modelTopology.model_config ?? json.modelTopology);
    for (const g of json.weightsManifest) for (const p of g.paths) writeFileSync(join(d, p), readFileSync(join(models[which].dir, p)));
    const file = join(d, 'model.json');
    writeFileSync(file, JSON.stringify(json));
    await assert.rejects(loadModel(file), (e: Error) => {
      assert.ok(isDeepMakerError(e), `a DeepMakerError, got ${e.stack}`);
      assert.ok(e.message.startsWith(file), `names the file: ${e.message}`);
      assert.match(e.message, re);
      return true;
    });
  }
  const seqLayer = (t: any, name: string) => t.config.layers.find((l: any) => l.config.name === name);
  const fnLayer = (t: any, name: string) => t.config.layers.find((l: any) => l.name === name);

  it("a layer check that knows only the layer (an unsupported padding) names the file too", () =>
    refused('seq', (t) => (seqLayer(t, 'first').config.padding = 'reflect'), /first.*padding 'reflect' is not supported/));

  it('a null in the Sequential layer list', () => refused('seq', (t) => t.config.layers.splice(1, 0, null), /layer list holds null, not a layer/));

  it('two Sequential layers with one name', () =>
    refused('seq', (t) => t.config.layers.splice(3, 0, structuredClone(seqLayer(t, 'dilated'))), /two layers are named 'dilated'/));

  it('two functional layers with one name', () => refused('cnn', (t) => t.config.layers.push(structuredClone(fnLayer(t, 'd1'))), /two layers are named 'd1'/));

  it("a functional layer whose config names it otherwise (its weights were silently left out: a weighted layer without weights)", () =>
    refused('cnn', (t) => (fnLayer(t, 'd1').config.name = 'renamed'), /layer 'd1' is named 'renamed' in its config/));

  it('a Keras 3 tensor reference without keras_history', () =>
    refused(
      'cnn',
      (t) => (fnLayer(t, 'd1').inbound_nodes = [{ args: [{ class_name: '__keras_tensor__', config: { shape: [null, 3] } }], kwargs: {} }]),
      /layer 'd1' has an input tensor whose keras_history is undefined/,
    ));

  it("a class name that is a property of every object ('toString')", () => refused('seq', (t) => (seqLayer(t, 'elu').class_name = 'toString'), /layer 'elu' has type toString, which is not supported/));

  it('a layer config without a field its converter reads (Reshape without target_shape)', () =>
    refused('seq', (t) => delete seqLayer(t, 'reshape').config.target_shape, /layer 'reshape' \(Reshape\) has a config this tool cannot read/));

  it('a corrupt HDF5 file on which the HDF5 library loops forever: refused after the read bound', () => {
    // conv2d_1layer.h5 with 2,331 bytes from offset 30 duplicated: h5wasm spins reading the model_config attribute.
    const f = join(dir, 'loops.h5');
    writeFileSync(f, mutateBytes(new Uint8Array(readFileSync(join(KERAS_FIXTURES, 'hls4ml_unit_layers/conv2d_1layer/conv2d_1layer.h5'))), { op: 'duplicate', at: 30, len: 2331, xor: 1, count: 1 }));
    // In a child process, so that without the bound this test fails (killed) instead of hanging the suite.
    const script = `require('tsx/cjs'); require(${JSON.stringify(join(REPO, 'src/importers/index.ts'))}).loadModel(${JSON.stringify(f)}).then(() => console.log('imported'), (e) => console.log(e.name + ': ' + e.message))`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 180_000, env: { ...process.env, DEEPMAKER_HDF5_READ_LIMIT_MS: '3000' } });
    assert.equal(r.signal, null, `the import did not return (killed after 180 s): ${r.stderr}`);
    assert.match(r.stdout, /^DeepMakerError: .*loops\.h5: cannot read the HDF5 file: the HDF5 library had not finished after \d+ s on 14731 bytes/);
  });
});
