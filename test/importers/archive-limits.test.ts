/**
 * Bounded reading of model files (issue 15): a `.keras` zip bomb (a member that unpacks far beyond
 * any model) or a zip header that lies about a member's size gives a clear error naming the file and
 * the member, before anything large is inflated; members the importer does not read are never
 * inflated; a model "file" that is a device, a FIFO or larger than the limit is refused unread.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { strToU8, unzipSync, zipSync } from 'fflate';
import { importModel, MAX_MODEL_FILE_BYTES } from '../../src/importers';
import { readKerasArchive } from '../../src/importers/keras-v3';
import { isDeepMakerError } from '../../src/util/errors';
import { kerasV3Dense, writeKerasArchive } from './keras3-writer';

function refused(fn: () => unknown, ...patterns: RegExp[]) {
  const check = (e: Error) => {
    assert.ok(isDeepMakerError(e), `a DeepMakerError, got ${e.name}: ${e.message}`);
    for (const re of patterns) assert.match(e.message, re);
    return true;
  };
  return (async () => {
    try {
      await fn();
    } catch (e) {
      check(e as Error);
      return;
    }
    assert.fail('expected an error');
  })();
}

/** Sets a member's uncompressed size in both its local and its central directory header. */
function forgeSize(zip: Uint8Array, member: string, size: number): Uint8Array {
  const out = Uint8Array.from(zip);
  const v = new DataView(out.buffer);
  const name = Buffer.from(member);
  for (let i = 0; i + 46 < out.length; i++) {
    const sig = v.getUint32(i, true);
    if (sig === 0x04034b50 && Buffer.from(out.subarray(i + 30, i + 30 + name.length)).equals(name) && v.getUint16(i + 26, true) === name.length) v.setUint32(i + 22, size, true);
    if (sig === 0x02014b50 && Buffer.from(out.subarray(i + 46, i + 46 + name.length)).equals(name) && v.getUint16(i + 28, true) === name.length) v.setUint32(i + 24, size, true);
  }
  return out;
}

describe('bounded model archives and files', () => {
  let dir: string;
  let good: Uint8Array;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dm-limits-'));
    good = await writeKerasArchive(kerasV3Dense(), 1);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a zip bomb: config.json that unpacks to 40 MiB (above the 32 MiB limit) is refused before inflating', async () => {
    const members = unzipSync(good);
    const bomb = zipSync({ ...members, 'config.json': new Uint8Array(40 * 1024 * 1024).fill(0x20) }, { level: 9 });
    assert.ok(bomb.length < 200_000, `a small archive (${bomb.length} bytes)`);
    const f = join(dir, 'bomb.keras');
    writeFileSync(f, bomb);
    await refused(() => importModel(f), /bomb\.keras \(config\.json\): the \.keras member config\.json would unpack to 40\.0 MiB \(\d+ bytes compressed\); the limit is 32\.0 MiB/, /zip bomb/);
  });

  it('the 600 MiB of the issue, declared in the header, is refused without allocating it', async () => {
    const f = join(dir, 'declared.keras');
    writeFileSync(f, forgeSize(good, 'config.json', 600 * 1024 * 1024));
    await refused(() => importModel(f), /declared\.keras \(config\.json\): .*would unpack to 600\.0 MiB/);
  });

  it('a header that understates the size: refused when the compressed data cannot be that small', async () => {
    const members = unzipSync(good);
    const padded = zipSync({ ...members, 'config.json': strToU8(new TextDecoder().decode(members['config.json']) + ' '.repeat(16 * 1024 * 1024)) }, { level: 9 });
    const f = join(dir, 'lying.keras');
    writeFileSync(f, forgeSize(padded, 'config.json', 100));
    await refused(() => importModel(f), /lying\.keras \(config\.json\): the \.keras member config\.json says it unpacks to 100 bytes but is \d+ bytes compressed/);
  });

  it('a header that understates the size a little: the output is cut at the declared size, a clear error follows', async () => {
    const members = unzipSync(good);
    const config = new TextDecoder().decode(members['config.json']);
    const padded = zipSync({ ...members, 'config.json': strToU8(config + ' '.repeat(4096)) }, { level: 9 });
    const forged = forgeSize(padded, 'config.json', 200);
    await refused(() => readKerasArchive(forged, 'cut.keras'), /cut\.keras \(config\.json\): config\.json in the \.keras archive is not valid JSON/);
  });

  it('members the importer does not read are never inflated (a huge asset does not matter)', async () => {
    const members = unzipSync(good);
    const withAsset = zipSync({ ...members, 'assets/huge.bin': new Uint8Array(64 * 1024 * 1024) }, { level: 9 });
    const a = readKerasArchive(forgeSize(withAsset, 'assets/huge.bin', 0xffffffff), 'asset.keras');
    assert.ok(a.weights.length > 0);
    const f = join(dir, 'asset.keras');
    writeFileSync(f, withAsset);
    assert.equal((await importModel(f)).source.format, 'keras-v3');
  });

  it('a model "file" that is a device or a FIFO is refused unread', async () => {
    await refused(() => importModel('/dev/zero'), /\/dev\/zero: cannot read the model file: this is not a regular file/);
    const fifo = join(dir, 'model.fifo');
    execFileSync('mkfifo', [fifo]);
    await refused(() => importModel(fifo), /model\.fifo: cannot read the model file: this is not a regular file/);
  });

  it('a model file above the limit is refused unread (a sparse file)', async () => {
    const f = join(dir, 'huge.h5');
    writeFileSync(f, '');
    truncateSync(f, MAX_MODEL_FILE_BYTES + 1);
    await refused(() => importModel(f), /huge\.h5: cannot read the model file: the file is 1\.0 GiB \(1073741825 bytes\); the limit is 1\.0 GiB/, /does not fit/);
  });
});
