/**
 * Reading a whole input file (a spec, a model) with a size limit, refusing anything that is not a
 * regular file before reading it: `/dev/zero` would be read until memory runs out, a FIFO would
 * block forever, a 50 MB spec takes gigabytes to parse. The file is opened non-blocking and checked
 * on the open descriptor, and never more than the limit is read, even if the file grows meanwhile.
 *
 * Light on purpose (node:fs only): the Nx plugin's createNodes uses it.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

export type BoundedRead = { bytes: Buffer; problem?: undefined } | { bytes?: undefined; problem: string; hint?: string };

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(1)} GiB`;
}

/** The bytes of `file` when it is a regular file of at most `maxBytes`, else why not (a sentence without the file name). */
export function readRegularFile(file: string, maxBytes: number): BoundedRead {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { problem: 'the file does not exist' };
    if (code === 'EACCES' || code === 'EPERM') return { problem: 'the file cannot be read (permission denied)' };
    if (code === 'ENOTDIR') return { problem: 'a part of the path is not a folder' };
    return { problem: `the file cannot be opened (${code ?? (e as Error).message})` };
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) return { problem: 'this is a folder, not a file' };
    if (!st.isFile()) return { problem: 'this is not a regular file (a device, a FIFO or a socket)', hint: 'give the path of a file' };
    const limit = `the limit is ${formatBytes(maxBytes)}`;
    if (st.size > maxBytes) return { problem: `the file is ${formatBytes(st.size)} (${st.size} bytes); ${limit}` };
    const buf = Buffer.alloc(Math.min(st.size, maxBytes) + 1);
    let n = 0;
    for (;;) {
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
      if (n === buf.length) return { problem: 'the file grew while it was read', hint: 'try again when nothing writes it' };
    }
    return { bytes: buf.subarray(0, n) };
  } catch (e) {
    return { problem: `the file cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
  } finally {
    closeSync(fd);
  }
}
