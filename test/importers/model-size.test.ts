/**
 * An imported model's sizes are checked against what the generated C can hold, with the figures in
 * the message (issue 15: a .keras input of 100000x100000x2 converted to C with DM_INPUT_SIZE
 * 20000000000). Shapes must be whole numbers (a corrupt config's 1e400 is Infinity).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { importModel } from '../../src/importers';
import { isDeepMakerError } from '../../src/util/errors';
import { saveTfjsModel } from '../cgen/tfjs-models';

function refused(p: Promise<unknown>, ...patterns: RegExp[]) {
  return assert.rejects(p, (e: Error) => {
    assert.ok(isDeepMakerError(e), `a DeepMakerError, got ${e.name}: ${e.message}`);
    for (const re of patterns) assert.match(e.message, re);
    return true;
  });
}

/** Rewrites every batch_input_shape in a model.json (the weights do not depend on it here). */
function withInputShape(file: string, shape: unknown[]): string {
  const json = JSON.parse(readFileSync(file, 'utf8'));
  const visit = (n: any) => {
    if (Array.isArray(n)) return n.forEach(visit);
    if (!n || typeof n !== 'object') return;
    if (Array.isArray(n.batch_input_shape)) n.batch_input_shape = [null, ...shape];
    Object.values(n).forEach(visit);
  };
  visit(json.modelTopology);
  // JSON cannot hold 1e400 as a number literal through JSON.stringify: write the text.
  writeFileSync(file, JSON.stringify(json).replace(/"__RAW__(.*?)"/g, '$1'));
  return file;
}

describe('model sizes against what the C holds', () => {
  let dir: string;
  let gap: string;
  let convs: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dm-size-'));
    const a = tf.sequential({ layers: [tf.layers.globalAveragePooling2d({ inputShape: [4, 4, 2] }), tf.layers.dense({ units: 2 })] });
    gap = await saveTfjsModel(a, join(dir, 'gap'));
    const b = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 1, kernelSize: 3, padding: 'same' }),
        tf.layers.conv2d({ filters: 1, kernelSize: 3, padding: 'same' }),
        tf.layers.globalAveragePooling2d({}),
        tf.layers.dense({ units: 2 }),
      ],
    });
    convs = await saveTfjsModel(b, join(dir, 'convs'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the small models import', async () => {
    assert.equal((await importModel(gap)).layers.length, 3);
    assert.equal((await importModel(convs)).layers.length, 5);
  });

  it("the issue's 100000x100000x2 input is refused with its figures", async () => {
    withInputShape(gap, [100000, 100000, 2]);
    await refused(
      importModel(gap),
      /gap\/model\.json \(\w+\): input '\w+' has shape 100000x100000x2 = 20,000,000,000 values; the generated C holds at most 536,870,911 values/,
      /hint: an FPGA or a microcontroller holds far less \(the iCE40 UP5K: 128 KiB of SPRAM/,
    );
  });

  it('layers each within the limit but together above it are refused with the total and the largest', async () => {
    withInputShape(convs, [16000, 16000, 1]);
    await refused(importModel(convs), /convs\/model\.json: the outputs of the model's 5 layers add up to 768,000,003 values \(the largest: '\w+', 16000x16000x1 = 256,000,000\)/);
  });

  it('a dimension that is not a whole number (1e400 is Infinity, 2.5) is refused', async () => {
    withInputShape(gap, ['__RAW__1e400', 4, 2]);
    await refused(importModel(gap), /input '\w+' has shape \[Infinity, 4, 2\]; every dimension must be a whole number/);
    withInputShape(gap, [2.5, 4, 2]);
    await refused(importModel(gap), /input '\w+' has shape \[2\.5, 4, 2\]; every dimension must be a whole number/);
  });
});
