/**
 * A board top on a simulated serial line: the synthesized netlist of the board top (UART bridge +
 * accelerator, no PLL) in the netlist simulator, its RX pin driven with 8N1 frames of the host's
 * bytes and its TX pin decoded as a host UART would. One simulated clock is one clock of the design
 * clock, so every bit lasts clockHz / hostBaud clocks (fractional: the host's rate is exact, the
 * FPGA's divider is rounded, as on the board).
 *
 * Simulated time skips only where nothing happens: when no byte is queued and every net keeps its
 * value over two clocks with the line idle, the design is at rest and stays so until the next byte.
 * Every frame on the line is recorded with its start and end clock (`events`), from which the host
 * gets the transfer and compute time of each sample on the simulated line.
 */
import { NetlistSimulator, YosysNetlist } from './netlist-sim';

export interface SerialSimOptions {
  netlist: YosysNetlist;
  top: string;
  /** Port names of the top: the clock, the FPGA's receive pin (host -> FPGA) and transmit pin. */
  clock: string;
  rx: string;
  tx: string;
  /** Clocks per bit of the host's UART: design clock / host baud rate. */
  period: number;
  /**
   * Clocks the design may run with nothing queued before the simulation stops waiting for it to come
   * to rest (a design with a free-running counter never does): at least the compute time plus the
   * bridge's timeout.
   */
  restLimitClocks: number;
}

export interface LineEvent {
  /** rx: host -> FPGA; tx: FPGA -> host. */
  dir: 'rx' | 'tx';
  byte: number;
  /** Clock of the start bit's leading edge, and of the end of the stop bit. */
  start: number;
  end: number;
  /** tx only: the stop bit read low (the byte is not passed on). */
  frameError?: boolean;
}

interface RxFrame {
  byte: number;
  levels: number[];
  /** Clock at which each bit ends; bit k is on the line from ends[k-1] (or start) to ends[k]. */
  ends: number[];
  start: number;
  bit: number;
}

export class SerialLineSim {
  readonly sim: NetlistSimulator;
  /** Simulated clocks since reset. */
  clock = 0;
  readonly events: LineEvent[] = [];
  private readonly opts: SerialSimOptions;
  private readonly queue: number[] = [];
  private frame: RxFrame | undefined;
  /** Fractional clock at which the line is free for the next frame (back-to-back frames keep the host's exact rate). */
  private lineFree = 0;
  private rxLevel = 1;
  // TX decoder
  private txPrev = 1;
  private txStart = -1;
  private txBit = 0;
  private txValue = 0;
  private txWaitHigh = false;
  /** Clocks run since the last byte left the queue without the design coming to rest. */
  private busyClocks = 0;
  private resting = false;
  /** The last queued byte has just left the line: run() returns so the caller can look for more input first. */
  private drained = false;

  constructor(opts: SerialSimOptions) {
    if (!(opts.period >= 4)) throw new Error(`a serial bit of ${opts.period} clocks is too short to simulate`);
    this.opts = opts;
    this.sim = new NetlistSimulator(opts.netlist, opts.top, { clock: opts.clock, lanes: 1 });
    this.sim.setAll(opts.rx, 1);
  }

  /**
   * Whether the queue ran empty at the end of a frame since the last call. A host writes a message
   * at once, but a pty may hand it over in pieces: the caller waits a moment for the rest before
   * simulating on, so the simulated line does not depend on how the pieces were timed.
   */
  takeDrained(): boolean {
    const d = this.drained;
    this.drained = false;
    return d;
  }

  /** Queues bytes from the host. */
  feed(bytes: ArrayLike<number>): void {
    for (let i = 0; i < bytes.length; i++) this.queue.push(bytes[i] & 0xff);
    if (bytes.length) this.resting = false;
  }

  /** Nothing to send and the design at rest (or past restLimitClocks): simulated time may wait for the next byte. */
  get idle(): boolean {
    return this.queue.length === 0 && !this.frame && this.txStart < 0 && this.resting;
  }

  /**
   * Runs up to `maxClocks` clocks, or until idle; returns the bytes the FPGA sent (stop bit good) in that time.
   */
  run(maxClocks: number): number[] {
    const out: number[] = [];
    const endAt = this.clock + maxClocks;
    while (this.clock < endAt) {
      if (this.idle || this.drained) break;
      if (!this.frame && this.queue.length === 0 && this.txStart < 0) {
        // Nothing on either line: check whether the design has come to rest (two clocks, nothing changes).
        if (this.busyClocks >= this.opts.restLimitClocks) {
          this.resting = true;
          break;
        }
        const before = this.sim.snapshot();
        this.step(out);
        const same1 = this.sim.matches(before);
        this.step(out);
        if (same1 && this.sim.matches(before) && this.txStart < 0) {
          this.resting = true;
          break;
        }
        this.busyClocks += 2;
        continue;
      }
      this.step(out);
    }
    return out;
  }

  private startFrame(): void {
    const byte = this.queue.shift()!;
    // Back to back (the line freed within the last clock): the exact fractional time, so a message
    // keeps the host's rate however the frame ends were rounded; after a pause: now.
    const t0 = this.clock > this.lineFree + 1 ? this.clock : this.lineFree;
    const p = this.opts.period;
    const levels = [0];
    for (let b = 0; b < 8; b++) levels.push((byte >> b) & 1);
    levels.push(1);
    const start = Math.round(t0);
    const ends = levels.map((_, k) => Math.round(t0 + (k + 1) * p));
    this.frame = { byte, levels, ends, start, bit: 0 };
    this.lineFree = t0 + 10 * p;
    this.busyClocks = 0;
  }

  /** One clock: the RX level for this clock, the edge, then the TX pin as the host's UART samples it. */
  private step(out: number[]): void {
    let level = 1;
    for (;;) {
      const f = this.frame;
      if (!f) {
        if (this.queue.length === 0) break;
        this.startFrame();
        continue;
      }
      if (this.clock < f.start) break;
      while (f.bit < 10 && this.clock >= f.ends[f.bit]) f.bit++;
      if (f.bit < 10) {
        level = f.levels[f.bit];
        break;
      }
      // The stop bit is over: the next queued byte may start on this very clock.
      this.events.push({ dir: 'rx', byte: f.byte, start: f.start, end: f.ends[9] });
      this.frame = undefined;
      if (this.queue.length === 0) this.drained = true;
    }
    if (level !== this.rxLevel) {
      this.sim.setAll(this.opts.rx, level);
      this.rxLevel = level;
    }
    this.sim.tick();
    this.clock++;
    const tx = this.sim.word(this.opts.tx) & 1;
    this.decodeTx(tx, out);
  }

  /** A host UART: a falling edge starts a frame, each bit is sampled in its middle at the host's rate. */
  private decodeTx(tx: number, out: number[]): void {
    const p = this.opts.period;
    const t = this.clock;
    if (this.txStart < 0) {
      if (this.txWaitHigh) {
        if (tx === 1) this.txWaitHigh = false;
      } else if (this.txPrev === 1 && tx === 0) {
        this.txStart = t;
        this.txBit = 0;
        this.txValue = 0;
      }
    } else {
      // Bit k (0 = first data bit) is sampled at start + (k + 1.5) periods; the stop bit at 9.5.
      const at = Math.round(this.txStart + (this.txBit + 1.5) * p);
      if (t === at) {
        if (this.txBit < 8) {
          this.txValue |= tx << this.txBit;
          this.txBit++;
        } else {
          const ok = tx === 1;
          this.events.push({ dir: 'tx', byte: this.txValue, start: this.txStart, end: Math.round(this.txStart + 10 * p), ...(ok ? {} : { frameError: true }) });
          if (ok) out.push(this.txValue);
          else this.txWaitHigh = true;
          this.txStart = -1;
          this.busyClocks = 0;
        }
      }
    }
    this.txPrev = tx;
  }
}

/** Per sample on the simulated line: clocks sending the command and sample, computing, and answering. */
export interface LineSample {
  sendClocks: number;
  computeClocks: number;
  answerClocks: number;
}

/**
 * Splits the recorded frames into samples: a sample is `1 + inputBytes` frames to the FPGA (the
 * command byte first) followed by a one-byte answer. Identity exchanges (the '?' command and its
 * answer) are skipped.
 */
export function lineSamples(events: LineEvent[], inputBytes: number, sampleCommand: number, infoCommand: number, infoBytes: number): LineSample[] {
  const out: LineSample[] = [];
  let i = 0;
  while (i < events.length) {
    const e = events[i];
    if (e.dir === 'rx' && e.byte === infoCommand) {
      // Skip the identity block that answers it.
      i++;
      let seen = 0;
      while (i < events.length && seen < infoBytes && events[i].dir === 'tx') {
        i++;
        seen++;
      }
      continue;
    }
    if (e.dir === 'rx' && e.byte === sampleCommand) {
      const rx = events.slice(i, i + 1 + inputBytes);
      const answer = events[i + 1 + inputBytes];
      if (rx.length < 1 + inputBytes || rx.some((x) => x.dir !== 'rx') || !answer || answer.dir !== 'tx') break;
      const last = rx[rx.length - 1];
      // The core takes the last byte before its stop bit ends (the receiver samples mid-bit): a core that
      // computes in under about half a bit starts answering inside that stop bit. Its compute then hides
      // in the transfer and counts as 0 (the sample's time is overstated by that overlap, < half a bit).
      out.push({ sendClocks: last.end - rx[0].start, computeClocks: Math.max(0, answer.start - last.end), answerClocks: answer.end - answer.start });
      i += 2 + inputBytes;
      continue;
    }
    i++;
  }
  return out;
}
