/**
 * A model file may name only files inside its own folder (issue 15): a TF.js weightsManifest path
 * with `..`, an absolute path, or a symbolic link leading out of the folder is refused with an
 * error naming the model file and the path, which says nothing of the outside file (its size, its
 * bytes). The same rule holds for the Keras JSON weights found by convention, quantization.json,
 * the TF.js loader of the verify stage, the convert copy of the sources and the spec's file hashes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { importModel } from '../../src/importers';
import { modelCompanionFiles } from '../../src/importers/companions';
import { convertModel } from '../../src/cgen/convert';
import { loadModel as loadTfjs } from '../../src/nn/save';
import { isDeepMakerError } from '../../src/util/errors';
import { silentLogger } from '../../src/util/log';
import { saveTfjsModel } from '../cgen/tfjs-models';
import { kerasV3Dense } from './keras3-writer';
import { KERAS_FIXTURES } from '../fixtures/location';

const FIXTURES = KERAS_FIXTURES;

function refused(p: Promise<unknown>, ...patterns: RegExp[]) {
  return assert.rejects(p, (e: Error) => {
    assert.ok(isDeepMakerError(e), `a DeepMakerError, got ${e.name}: ${e.message}`);
    for (const re of patterns) assert.match(e.message, re);
    return true;
  });
}

describe('paths a model file names stay in its folder', () => {
  let dir: string;
  let secret: string;
  let secretBytes: Buffer;
  /** A TF.js model in `<dir>/<name>/` whose manifest names `paths`; the real shard becomes `secret`'s size. */
  let model: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dm-contained-'));
    const good = join(dir, 'good');
    model = await saveTfjsModel(kerasV3Dense(), good);
    const json = JSON.parse(readFileSync(model, 'utf8'));
    // The outside file has exactly the size the manifest wants, so only the path check can stop it.
    const shard = join(good, json.weightsManifest[0].paths[0]);
    secretBytes = readFileSync(shard);
    secret = join(dir, 'secret.bin');
    writeFileSync(secret, secretBytes);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A copy of the good model in a fresh folder, its manifest's first shard path replaced. */
  function hostile(name: string, path: string, setup?: (folder: string) => void): string {
    const folder = join(dir, name);
    mkdirSync(folder, { recursive: true });
    const json = JSON.parse(readFileSync(model, 'utf8'));
    json.weightsManifest[0].paths = [path];
    const file = join(folder, 'model.json');
    writeFileSync(file, JSON.stringify(json));
    setup?.(folder);
    return file;
  }

  function assertNothingLeaks(e: Error) {
    assert.doesNotMatch(e.message, new RegExp(`\\b${secretBytes.length}\\b`), 'the outside file size is not in the message');
    assert.doesNotMatch(e.message, /bytes/);
  }

  it('a ../ path is refused, naming model.json and the path (the file has the right size, so the old code read it)', async () => {
    const file = hostile('dotdot', '../secret.bin');
    await refused(importModel(file), /dotdot\/model\.json \(weightsManifest\[0\]\.paths\[0\]\): the weight shard path "\.\.\/secret\.bin" leaves the model's folder/);
    await importModel(file).catch(assertNothingLeaks);
  });

  it('a deep ../../../etc/passwd path is refused without reading it', async () => {
    const file = hostile('passwd', '../../../../../../../../etc/passwd');
    await refused(importModel(file), /passwd\/model\.json.*"\.\.\/\.\.\/\.\.\/\.\.\/\.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd" leaves the model's folder/);
  });

  it('an absolute path is refused', async () => {
    const file = hostile('absolute', secret);
    await refused(importModel(file), /absolute\/model\.json.*is absolute/);
    await importModel(file).catch(assertNothingLeaks);
  });

  it('a path through a folder that climbs back in (sub/../../x) is refused', async () => {
    const file = hostile('climb', 'sub/../../secret.bin', (f) => mkdirSync(join(f, 'sub')));
    await refused(importModel(file), /leaves the model's folder/);
  });

  it('a symbolic link inside the folder that leads out of it is refused', async () => {
    const file = hostile('link', 'shard.bin', (f) => symlinkSync(secret, join(f, 'shard.bin')));
    await refused(importModel(file), /link\/model\.json.*"shard\.bin" is a symbolic link .* leads out of the model's folder/);
    await importModel(file).catch(assertNothingLeaks);
  });

  it('a linked folder that leads out is refused too', async () => {
    const file = hostile('linkdir', 'up/secret.bin', (f) => symlinkSync(dir, join(f, 'up')));
    await refused(importModel(file), /leads out of the model's folder/);
  });

  it('a dangling link and a missing shard say "missing" and nothing else', async () => {
    const a = hostile('dangling', 'shard.bin', (f) => symlinkSync(join(dir, 'no-such-file'), join(f, 'shard.bin')));
    await refused(importModel(a), /"shard\.bin" named by the model is missing/);
  });

  it('a shard that is a folder (or a FIFO, a device) is not read', async () => {
    const file = hostile('folder', 'shard.bin', (f) => mkdirSync(join(f, 'shard.bin')));
    await refused(importModel(file), /"shard\.bin" is not a regular file/);
  });

  it('shards in a subfolder and links that stay inside still work', async () => {
    const json = JSON.parse(readFileSync(model, 'utf8'));
    const shardName = json.weightsManifest[0].paths[0];
    const sub = hostile('subfolder', `w/${shardName}`, (f) => {
      mkdirSync(join(f, 'w'));
      copyFileSync(join(dir, 'good', shardName), join(f, 'w', shardName));
    });
    const ok = await importModel(sub);
    assert.equal(ok.source.format, 'tfjs-layers');
    const linked = hostile('inner-link', 'alias.bin', (f) => {
      copyFileSync(join(dir, 'good', shardName), join(f, 'real.bin'));
      symlinkSync('real.bin', join(f, 'alias.bin'));
    });
    assert.equal((await importModel(linked)).source.format, 'tfjs-layers');
  });

  it('convert refuses it and writes nothing outside --out (no copy of the outside file)', async () => {
    const file = hostile('convert', '../secret.bin');
    const out = join(dir, 'convert-out');
    await refused(convertModel({ file, outDir: out, spec: { format: 'float' }, log: silentLogger }), /leaves the model's folder/);
    assert.ok(!existsSync(join(out, 'weights.c')));
  });

  it("the verify stage's TF.js loader refuses it", async () => {
    const file = hostile('tfjs-load', '../secret.bin');
    await refused(loadTfjs(file), /tfjs-load\/model\.json.*leaves the model's folder/);
  });

  it("the spec stage's file digests leave out shards outside the folder", () => {
    const file = hostile('stamp', '../secret.bin');
    assert.deepEqual(modelCompanionFiles(file), []);
    const link = hostile('stamp-link', 'shard.bin', (f) => symlinkSync(secret, join(f, 'shard.bin')));
    assert.deepEqual(modelCompanionFiles(link), []);
  });

  it('a Keras JSON whose conventional weights file is a link out of the folder is refused', async () => {
    const folder = join(dir, 'keras-json');
    mkdirSync(folder);
    const outside = join(dir, 'outside-weights.h5');
    copyFileSync(join(FIXTURES, 'hls4ml_keras_3layer/KERAS_3layer_weights.h5'), outside);
    copyFileSync(join(FIXTURES, 'hls4ml_keras_3layer/KERAS_3layer.json'), join(folder, 'KERAS_3layer.json'));
    symlinkSync(outside, join(folder, 'KERAS_3layer_weights.h5'));
    await refused(importModel(join(folder, 'KERAS_3layer.json')), /KERAS_3layer\.json: the weights file path "KERAS_3layer_weights\.h5" is a symbolic link/, /hint:/);
    assert.deepEqual(modelCompanionFiles(join(folder, 'KERAS_3layer.json')), []);
    // Named explicitly by the user, the same file is read.
    const ok = await importModel(join(folder, 'KERAS_3layer.json'), { weights: outside });
    assert.ok(ok.layers.length > 0);
  });

  it('quantization.json linked from outside the folder is refused', async () => {
    const folder = join(dir, 'quant-link');
    mkdirSync(folder);
    for (const f of readdirSync(join(dir, 'good'))) copyFileSync(join(dir, 'good', f), join(folder, f));
    writeFileSync(join(dir, 'q.json'), '{}');
    symlinkSync(join(dir, 'q.json'), join(folder, 'quantization.json'));
    await refused(convertModel({ file: join(folder, 'model.json'), outDir: join(dir, 'q-out'), spec: { format: 'float' }, log: silentLogger }), /"quantization\.json" is a symbolic link/);
  });

  it('a manifest that is not a list of {paths, weights} is a clear error, not a TypeError', async () => {
    const folder = join(dir, 'shapeless');
    mkdirSync(folder);
    const json = JSON.parse(readFileSync(model, 'utf8'));
    for (const [bad, re] of [
      [{}, /weightsManifest is not a list/],
      [[{ weights: [] }], /weightsManifest\[0\] has no list of paths/],
      [[{ paths: [7] }], /the weight shard path 7 is not a file name/],
    ] as const) {
      json.weightsManifest = bad;
      writeFileSync(join(folder, 'model.json'), JSON.stringify(json));
      await refused(importModel(join(folder, 'model.json')), re);
    }
  });
});
