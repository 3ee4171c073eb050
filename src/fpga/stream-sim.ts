/**
 * Runs samples through a synthesized accelerator's stream interface (src/rtl/interface.ts) on the
 * netlist simulator: lane l of the simulator takes samples l, l+lanes, l+2*lanes... back to back, the
 * way the hardware would, after one reset at the start.
 */
import { DeepMakerError } from '../util/errors';
import { NetlistSimulator, YosysNetlist } from './netlist-sim';

export interface StreamResult {
  /** Logits per sample (signed, out_data interpreted as two's complement). */
  outputs: number[][];
  /** out_class per sample, as the hardware reported it. */
  classes: number[];
  /**
   * Clocks per sample from its last input handshake to its first output beat: the figure the RTL
   * simulation reports and src/rtl/cycles.ts predicts (src/sim/driver.ts counts the same way).
   */
  cycles: number[];
  /** Clock edges simulated in all. */
  simulatedCycles: number;
  lanes: number;
}

export interface StreamOptions {
  top?: string;
  /** Give up on a sample after this many clocks (default 50 M). */
  maxCyclesPerSample?: number;
  lanes?: number;
  /** Called after each finished sample. */
  progress?: (done: number, total: number) => void;
}

export function signed(v: number, bits: number): number {
  return v >= 2 ** (bits - 1) ? v - 2 ** bits : v;
}

export function runStreamOnNetlist(netlist: YosysNetlist, samples: Uint8Array[], opts: StreamOptions = {}): StreamResult {
  const top = opts.top ?? 'deepmaker_accel';
  const lanes = Math.max(1, Math.min(opts.lanes ?? 32, samples.length || 1));
  const sim = new NetlistSimulator(netlist, top, { lanes });
  const outBits = sim.portWidth('out_data');
  const maxCycles = opts.maxCyclesPerSample ?? 50_000_000;
  const outputs: number[][] = samples.map(() => []);
  const classes = new Array<number>(samples.length).fill(-1);
  const cycles = new Array<number>(samples.length).fill(0);

  // Per lane: the sample in flight, how many of its bytes went in, when its last byte went in and
  // its first output came out.
  const current = Array.from({ length: lanes }, (_, l) => (l < samples.length ? l : -1));
  const pos = new Array<number>(lanes).fill(0);
  const lastIn = new Array<number>(lanes).fill(-1);
  const firstOut = new Array<number>(lanes).fill(-1);
  let done = 0;

  sim.setAll('rst', 1);
  sim.setAll('in_valid', 0);
  sim.setAll('out_ready', 1);
  sim.tick();
  sim.tick();
  sim.setAll('rst', 0);
  const valid = new Array<number>(lanes).fill(0);
  const data = new Array<number>(lanes).fill(0);
  let sinceProgress = 0;
  while (done < samples.length) {
    for (let l = 0; l < lanes; l++) {
      const s = current[l];
      valid[l] = s >= 0 && pos[l] < samples[s].length ? 1 : 0;
      data[l] = valid[l] ? samples[s][pos[l]] : 0;
    }
    sim.set('in_valid', valid);
    sim.set('in_data', data);
    const inReady = sim.word('in_ready');
    const outValid = sim.word('out_valid');
    const outLast = outValid ? sim.word('out_last') : 0;
    const outData = outValid ? sim.get('out_data') : undefined;
    const outClass = outLast ? sim.get('out_class') : undefined;
    for (let l = 0; l < lanes; l++) {
      const s = current[l];
      if (s < 0) continue;
      if (valid[l] && (inReady >>> l) & 1) {
        pos[l]++;
        if (pos[l] === samples[s].length) lastIn[l] = sim.cycles;
      }
      if ((outValid >>> l) & 1) {
        if (firstOut[l] < 0) firstOut[l] = sim.cycles;
        outputs[s].push(signed(outData![l], outBits));
        if ((outLast >>> l) & 1) {
          classes[s] = outClass![l];
          cycles[s] = firstOut[l] - lastIn[l];
          done++;
          sinceProgress = 0;
          opts.progress?.(done, samples.length);
          const next = s + lanes;
          current[l] = next < samples.length ? next : -1;
          pos[l] = 0;
          lastIn[l] = -1;
          firstOut[l] = -1;
        }
      }
    }
    sim.tick();
    if (++sinceProgress > maxCycles) {
      throw new DeepMakerError(`the synthesized netlist of ${top} finished no sample in ${maxCycles} clocks (${done} of ${samples.length} done)`, { where: top }, 'the netlist does not behave like the RTL: compare the synthesis log with the RTL simulation');
    }
  }
  return { outputs, classes, cycles, simulatedCycles: sim.cycles, lanes };
}
