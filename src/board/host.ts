/**
 * The host side of the board protocol (src/fpga/board-protocol.ts): opens the serial port, asks the
 * board who it is, refuses a bitstream of another model, streams test samples and checks each answer
 * against the C fixed-point model's class (dist/sim/vectors.json). The same code talks to a real
 * board and to the simulated one (src/board/simulate.ts), which is a pseudo-terminal.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { checkIdentity, CMD_INFO, CMD_SAMPLE, hexId, INFO_BYTES, modelIdentity, parseInfo, BoardIdentity } from '../fpga/board-protocol';
import { rtlInputs, SimVectors } from '../stages/synth';
import type { StreamInterface } from '../rtl/interface';
import { DeepMakerError } from '../util/errors';
import { readJson } from '../util/fs';

/** What a board on an iCEBreaker is called: its FT2232H's second channel is the FPGA's UART. */
export const PORT_HINT =
  'the iCEBreaker\'s FPGA UART is the second port of its FT2232H: /dev/ttyUSB1 on Linux (ttyUSB0 is the flash/JTAG channel; ls -l /dev/serial/by-id/ shows "...-if01-port0"), /dev/cu.usbserial-XXXXXXB on macOS, the higher-numbered COM port on Windows; your user needs access (Debian: the dialout group)';

/** Longer than the bridge's partial-sample timeout (100 ms): a half-sent sample from an earlier host is dropped by then. */
export const SETTLE_MS = 250;

export interface ProjectVectors {
  iface: StreamInterface;
  vectors: SimVectors & { labels?: number[] };
  bytes: Uint8Array;
  /** The identity this project's bitstream answers with. */
  identity: Omit<BoardIdentity, 'version'>;
  files: { interface: string; vectors: string };
}

/** The project's interface, test vectors and model identity (dist/rtl, dist/sim). */
export function readProject(projectRoot: string): ProjectVectors {
  const rtlDir = join(projectRoot, 'dist', 'rtl');
  const ifaceFile = join(rtlDir, 'interface.json');
  const vecFile = join(projectRoot, 'dist', 'sim', 'vectors.json');
  for (const f of [ifaceFile, vecFile]) {
    if (!existsSync(f)) throw new DeepMakerError('the project is not built this far', { file: f }, 'build it first: nx run <project>:bitstream (or deepmaker run bitstream)');
  }
  const iface = readJson<StreamInterface>(ifaceFile);
  const vectors = readJson<SimVectors & { labels?: number[] }>(vecFile);
  if (vectors.inputBytes !== iface.inputBytes) throw new DeepMakerError(`the test vectors have ${vectors.inputBytes}-byte samples, the accelerator takes ${iface.inputBytes}`, { file: vecFile }, 'rerun the sim stage');
  const bytes = new Uint8Array(readFileSync(join(projectRoot, 'dist', 'sim', vectors.file)));
  const { sources, dataFiles } = rtlInputs(rtlDir);
  const identity = { inputBytes: iface.inputBytes, outputs: iface.outputs, outBits: iface.outBits, classBits: iface.classBits, modelId: modelIdentity(ifaceFile, [...sources, ...dataFiles]) };
  return { iface, vectors, bytes, identity, files: { interface: ifaceFile, vectors: vecFile } };
}

/** A serial port with reads of exactly n bytes under a deadline. */
export class BoardLink {
  private buf = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  private closed = false;
  private constructor(readonly port: SerialPort, readonly path: string) {
    port.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.waiter?.();
    });
    port.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
  }

  static open(path: string, baud: number): Promise<BoardLink> {
    return new Promise((resolve, reject) => {
      const port = new SerialPort({ path, baudRate: baud, autoOpen: false });
      port.open((err) => {
        if (err) {
          const why = /ENOENT|No such file/i.test(err.message) ? 'there is no such device' : /EACCES|Permission/i.test(err.message) ? 'permission denied' : err.message;
          reject(new DeepMakerError(`cannot open the serial port ${path}: ${why}`, { where: 'deepmaker board --port' }, PORT_HINT));
        } else resolve(new BoardLink(port, path));
      });
    });
  }

  write(bytes: Uint8Array): Promise<void> {
    const failed = (e: Error) => new DeepMakerError(`writing to the serial port ${this.path} failed: ${e.message}`, { where: this.path }, 'was the board unplugged? Plug it in and rerun');
    return new Promise((resolve, reject) => {
      this.port.write(Buffer.from(bytes), (err) => (err ? reject(failed(err)) : this.port.drain((e) => (e ? reject(failed(e)) : resolve()))));
    });
  }

  /** Exactly n bytes, or undefined when they did not all come within timeoutMs. */
  async read(n: number, timeoutMs: number): Promise<Buffer | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.buf.length < n) {
      const left = deadline - Date.now();
      if (left <= 0 || this.closed) return undefined;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.waiter = undefined;
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return Buffer.from(out);
  }

  /** Drops whatever arrived so far. */
  discard(): number {
    const n = this.buf.length;
    this.buf = Buffer.alloc(0);
    return n;
  }

  close(): Promise<void> {
    if (!this.port.isOpen) return Promise.resolve();
    return new Promise((resolve) => this.port.close(() => resolve()));
  }
}

/** Asks the board who it is (the '?' command) and checks it runs this project's model. */
export async function identify(link: BoardLink, want: Omit<BoardIdentity, 'version'>, timeoutMs: number, project: string, baud: number): Promise<BoardIdentity> {
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  link.discard();
  await link.write(Uint8Array.of(CMD_INFO));
  const got = await link.read(INFO_BYTES, timeoutMs);
  if (!got) {
    const some = link.discard();
    throw new DeepMakerError(
      some
        ? `the board on ${link.path} answered ${some} byte(s) but not a DeepMaker identity within ${timeoutMs} ms`
        : `no answer from the board on ${link.path} within ${timeoutMs} ms`,
      { where: link.path },
      `check that the FPGA holds this project's bitstream (deepmaker board --program), that ${baud} baud is the bitstream's target.baud, and the port: ${PORT_HINT}`,
    );
  }
  const id = parseInfo(got);
  if (!id) {
    throw new DeepMakerError(
      `the device on ${link.path} answered, but not with a DeepMaker identity (got ${got.toString('hex')})`,
      { where: link.path },
      `a wrong baud rate (${baud} here; the bitstream's is target.baud) or a bitstream from an older deepmaker (protocol without identify): rebuild and program it (deepmaker board --program)`,
    );
  }
  checkIdentity(id, want, { port: link.path, project });
  return id;
}

export interface SampleResult {
  index: number;
  board: number;
  c: number;
  label?: number;
  /** Host wall time from the first byte written to the answer read. */
  ms: number;
}

/** One sample: 'S' + its bytes, then the class byte. */
export async function classify(link: BoardLink, sample: Uint8Array, timeoutMs: number, index: number): Promise<{ cls: number; ms: number }> {
  const msg = new Uint8Array(1 + sample.length);
  msg[0] = CMD_SAMPLE;
  msg.set(sample, 1);
  const started = process.hrtime.bigint();
  await link.write(msg);
  const got = await link.read(1, timeoutMs);
  if (!got) {
    throw new DeepMakerError(`the board on ${link.path} did not answer sample ${index} within ${timeoutMs} ms`, { where: link.path }, 'the board stopped answering: check the cable and the error LED; press the reset button or reprogram, then rerun (raise --timeout for a slow design)');
  }
  return { cls: got[0], ms: Number(process.hrtime.bigint() - started) / 1e6 };
}

export { hexId };
