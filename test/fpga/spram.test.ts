import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NetlistSimulator, type YosysNetlist } from '../../src/fpga/netlist-sim';

/**
 * SB_SPRAM256KA in the netlist simulator, on a one-cell netlist: the semantics of Yosys's
 * ice40/cells_sim.v (read when CHIPSELECT and not WREN; nibble-masked write; DATAOUT x, here 0,
 * after a write; 0 while asleep), per lane.
 */
function netlist(): YosysNetlist {
  let n = 2;
  const bits = (w: number) => Array.from({ length: w }, () => n++);
  const ports = {
    clk: { direction: 'input' as const, bits: bits(1) },
    addr: { direction: 'input' as const, bits: bits(14) },
    din: { direction: 'input' as const, bits: bits(16) },
    mask: { direction: 'input' as const, bits: bits(4) },
    we: { direction: 'input' as const, bits: bits(1) },
    cs: { direction: 'input' as const, bits: bits(1) },
    sleep: { direction: 'input' as const, bits: bits(1) },
    dout: { direction: 'output' as const, bits: bits(16) },
  };
  const cell = {
    type: 'SB_SPRAM256KA',
    parameters: {},
    connections: {
      CLOCK: ports.clk.bits,
      ADDRESS: ports.addr.bits,
      DATAIN: ports.din.bits,
      MASKWREN: ports.mask.bits,
      WREN: ports.we.bits,
      CHIPSELECT: ports.cs.bits,
      STANDBY: ['0' as const],
      SLEEP: ports.sleep.bits,
      POWEROFF: ['1' as const],
      DATAOUT: ports.dout.bits,
    },
  };
  return { modules: { top: { ports, cells: { spram: cell } } } };
}

describe('netlist simulator: SB_SPRAM256KA', () => {
  it('writes with the nibble mask, reads back per lane, and follows CHIPSELECT, WREN and SLEEP', () => {
    const sim = new NetlistSimulator(netlist(), 'top', { lanes: 2 });
    const step = (o: { addr: number[]; din?: number[]; mask?: number; we: number; cs?: number; sleep?: number }) => {
      sim.set('addr', o.addr);
      sim.set('din', o.din ?? [0, 0]);
      sim.setAll('mask', o.mask ?? 0xf);
      sim.setAll('we', o.we);
      sim.setAll('cs', o.cs ?? 1);
      sim.setAll('sleep', o.sleep ?? 0);
      sim.tick();
      return sim.get('dout');
    };
    step({ addr: [5, 16383], din: [0x1234, 0xbeef], we: 1 });
    assert.deepEqual(step({ addr: [5, 16383], we: 0 }), [0x1234, 0xbeef]);
    // Nibbles 1 and 3 only.
    step({ addr: [5, 16383], din: [0xabcd, 0x0000], mask: 0b1010, we: 1 });
    assert.deepEqual(step({ addr: [5, 16383], we: 0 }), [0xa2c4, 0x0e0f]);
    // After a write DATAOUT is x in cells_sim.v (0 here); without CHIPSELECT it holds.
    assert.deepEqual(step({ addr: [5, 5], din: [1, 2], we: 1 }), [0, 0]);
    assert.deepEqual(step({ addr: [5, 5], we: 0 }), [1, 2], 'each lane is its own memory');
    assert.deepEqual(step({ addr: [0, 0], we: 0, cs: 0 }), [1, 2]);
    assert.deepEqual(step({ addr: [5, 5], we: 0, sleep: 1 }), [0, 0]);
    // Unwritten words read 0.
    assert.deepEqual(step({ addr: [100, 100], we: 0 }), [0, 0]);
  });
});
