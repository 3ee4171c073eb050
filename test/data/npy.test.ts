import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { decodeNpy, encodeNpy, readNpy, writeNpy } from '../../src/data/npy';
import { isDeepMakerError } from '../../src/util/errors';

const dir = mkdtempSync(join(tmpdir(), 'dm-npy-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A hand-written .npy header as numpy writes it (version 1.0, padded to 64 bytes). */
function numpyStyle(descr: string, shape: string, body: Buffer, fortran = 'False', major = 1): Buffer {
  let dict = `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`;
  const pre = major === 1 ? 10 : 12;
  dict += ' '.repeat((64 - ((pre + dict.length + 1) % 64)) % 64) + '\n';
  const head = Buffer.alloc(pre);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]).copy(head);
  head[6] = major;
  if (major === 1) head.writeUInt16LE(dict.length, 8);
  else head.writeUInt32LE(dict.length, 8);
  return Buffer.concat([head, Buffer.from(dict, 'latin1'), body]);
}

describe('npy', () => {
  it('writes the exact header numpy writes (version 1.0, 64-byte aligned data)', () => {
    const bytes = encodeNpy(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
    const headerLen = bytes.readUInt16LE(8);
    assert.equal((10 + headerLen) % 64, 0);
    assert.equal(bytes.subarray(10, 10 + headerLen).toString('latin1').trimEnd(), "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }");
    assert.deepEqual([...new Float32Array(bytes.buffer.slice(bytes.byteOffset + 10 + headerLen, bytes.byteOffset + bytes.length))], [1, 2, 3, 4, 5, 6]);
    // A 1-D shape is a one-element tuple, with its trailing comma.
    const v = encodeNpy(new Int32Array([7]), [1]);
    assert.match(v.toString('latin1'), /'shape': \(1,\), \}/);
  });

  it('round-trips every supported dtype through a file', () => {
    const arrays = [
      new Float32Array([1.5, -2.25, 3e-8]),
      new Float64Array([Math.PI, -1e300, 0]),
      new Int32Array([-2147483648, 0, 2147483647]),
      new BigInt64Array([-5n, 0n, 9007199254740993n]),
      new Uint8Array([0, 128, 255]),
      new Int8Array([-128, 0, 127]),
      new Uint16Array([0, 1, 65535]),
      new Int16Array([-32768, 1, 32767]),
    ];
    for (const a of arrays) {
      const file = join(dir, `a-${a.constructor.name}.npy`);
      writeNpy(file, a, [3, 1]);
      const back = readNpy(file);
      assert.deepEqual(back.shape, [3, 1]);
      assert.equal(back.data.constructor, a.constructor);
      assert.deepEqual([...(back.data as ArrayLike<number | bigint> & Iterable<number | bigint>)], [...(a as Iterable<number | bigint>)]);
    }
  });

  it('reads numpy version 2.0 headers and single-byte types written with a byte-order mark', () => {
    const v2 = decodeNpy(numpyStyle('<i2', '(2,)', Buffer.from([1, 0, 0xff, 0xff]), 'False', 2), 'v2.npy');
    assert.deepEqual([...v2.data as Int16Array], [1, -1]);
    const u1 = decodeNpy(numpyStyle('<u1', '(3,)', Buffer.from([1, 2, 3])), 'u1.npy');
    assert.equal(u1.dtype, '|u1');
    const scalar = decodeNpy(numpyStyle('<f8', '()', Buffer.alloc(8)), 's.npy');
    assert.deepEqual(scalar.shape, []);
    assert.equal(scalar.data.length, 1);
  });

  it('refuses Fortran order, big-endian types, bad magic and truncated data with a DeepMakerError naming the file', () => {
    const cases: [Buffer, RegExp][] = [
      [numpyStyle('<f4', '(2, 2)', Buffer.alloc(16), 'True'), /Fortran.*ascontiguousarray/s],
      [numpyStyle('>f4', '(2,)', Buffer.alloc(8)), /unsupported \.npy dtype '>f4'/],
      [numpyStyle('<c8', '(2,)', Buffer.alloc(16)), /unsupported \.npy dtype '<c8'/],
      [Buffer.from('PK\x03\x04 not a npy'), /not a \.npy file/],
      [numpyStyle('<f4', '(4,)', Buffer.alloc(12)), /truncated \.npy data: .* needs 16 bytes, the file has 12/],
    ];
    for (const [bytes, re] of cases) {
      const file = join(dir, 'bad.npy');
      writeFileSync(file, bytes);
      assert.throws(() => readNpy(file), (e: unknown) => isDeepMakerError(e) && re.test(e.message) && e.message.startsWith(file));
    }
    assert.throws(() => readNpy(join(dir, 'absent.npy')), (e: unknown) => isDeepMakerError(e) && /absent\.npy: cannot read .*ENOENT/.test(e.message));
  });

  it('streams large arrays to disk without changing them', () => {
    const a = new Float32Array((1 << 22) + 3).map((_, i) => i * 0.5);
    const file = join(dir, 'big.npy');
    writeNpy(file, a, [a.length]);
    assert.deepEqual(readFileSync(file).subarray(0, 128), encodeNpy(a, [a.length]).subarray(0, 128));
    const back = readNpy(file).data as Float32Array;
    assert.equal(back.length, a.length);
    assert.equal(back[a.length - 1], a[a.length - 1]);
  });
});
