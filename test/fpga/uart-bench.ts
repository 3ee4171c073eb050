/**
 * A serial-line test bench for the UART bridge on the netlist simulator: each lane gets its own RX
 * waveform (one level per clock), and the TX line and status outputs are recorded per clock.
 */
import { NetlistSimulator } from '../../src/fpga/netlist-sim';

/** Appends an 8N1 frame per byte to `wave`; `period` may be fractional (a host with a different baud rate). */
export function serialFrames(wave: number[], bytes: ArrayLike<number>, period: number, opts: { badStop?: boolean } = {}): void {
  for (let i = 0; i < bytes.length; i++) {
    const bits = [0];
    for (let b = 0; b < 8; b++) bits.push((bytes[i] >> b) & 1);
    bits.push(opts.badStop ? 0 : 1);
    const start = wave.length;
    for (let k = 0; k < bits.length; k++) {
      const end = Math.round(start + (k + 1) * period);
      while (wave.length < end) wave.push(bits[k]);
    }
  }
}

export function idleLine(wave: number[], clocks: number): void {
  for (let i = 0; i < clocks; i++) wave.push(1);
}

export interface LaneTrace {
  tx: Uint8Array;
  error: Uint8Array;
  ready: Uint8Array;
  lastClass: number;
}

/** Runs the bench: reset, then every lane's RX waveform (lanes whose waveform ended see an idle line). */
export function runSerial(sim: NetlistSimulator, waves: number[][], extraClocks: number): LaneTrace[] {
  const length = Math.max(...waves.map((w) => w.length)) + extraClocks;
  const traces = waves.map(() => ({ tx: new Uint8Array(length), error: new Uint8Array(length), ready: new Uint8Array(length), lastClass: 0 }));
  sim.setAll('rx', 1);
  sim.setAll('rst', 1);
  sim.tick();
  sim.tick();
  sim.setAll('rst', 0);
  const rx = new Array<number>(waves.length).fill(1);
  for (let t = 0; t < length; t++) {
    for (let l = 0; l < waves.length; l++) rx[l] = t < waves[l].length ? waves[l][t] : 1;
    sim.set('rx', rx);
    const tx = sim.word('tx');
    const err = sim.word('error');
    const rdy = sim.word('ready');
    for (let l = 0; l < waves.length; l++) {
      traces[l].tx[t] = (tx >>> l) & 1;
      traces[l].error[t] = (err >>> l) & 1;
      traces[l].ready[t] = (rdy >>> l) & 1;
    }
    sim.tick();
  }
  const cls = sim.get('last_class');
  traces.forEach((tr, l) => (tr.lastClass = cls[l]));
  return traces;
}

export interface DecodedByte {
  value: number;
  /** Clock of the start bit's falling edge. */
  start: number;
  /** Clocks between the start edge and each later level change of the frame. */
  edges: number[];
  stopOk: boolean;
}

/** Decodes 8N1 frames from a recorded line, sampling each bit in its middle. */
export function decodeSerial(line: Uint8Array, period: number): DecodedByte[] {
  const out: DecodedByte[] = [];
  let t = 1;
  while (t < line.length) {
    if (!(line[t - 1] === 1 && line[t] === 0)) {
      t++;
      continue;
    }
    const start = t;
    const frameEnd = Math.round(start + 10 * period);
    if (frameEnd > line.length) break;
    let value = 0;
    for (let b = 0; b < 8; b++) value |= line[Math.round(start + (b + 1.5) * period)] << b;
    const stopOk = line[Math.round(start + 9.5 * period)] === 1;
    const edges: number[] = [];
    for (let k = start + 1; k < frameEnd; k++) if (line[k] !== line[k - 1]) edges.push(k - start);
    out.push({ value, start, edges, stopOk });
    t = frameEnd;
  }
  return out;
}
