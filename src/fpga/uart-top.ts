/**
 * The board top: the accelerator behind a UART (src/fpga/rtl/deepmaker_uart_bridge.v), with a
 * power-on reset and the board's LEDs. Generated per board because LED pins and polarities differ;
 * everything with behaviour lives in the static Verilog beside it, which the tests simulate.
 */
import { DeepMakerError } from '../util/errors';
import { fpgaAsset } from './assets';
import { Board, boardPins, boardPcfPath } from './boards';
import { hexId, infoBlock, infoVerilog, INFO_BYTES, PROTOCOL_VERSION } from './board-protocol';
import { PllConfig, pllParameters } from './pll';

export const UART_RTL_FILES = ['deepmaker_uart_rx.v', 'deepmaker_uart_tx.v', 'deepmaker_uart_bridge.v'];

export function uartRtlPaths(): string[] {
  return UART_RTL_FILES.map((f) => fpgaAsset('rtl', f));
}

export const DEFAULT_BAUD = 115200;

/** What the wrapper needs to know of the accelerator (src/rtl/interface.ts StreamInterface). */
export interface AccelPorts {
  inputBytes: number;
  /** Logits per sample: the classes. */
  outputs: number;
  outBits: number;
  classBits: number;
  /** The model identity the board answers to an identify command (src/fpga/board-protocol.ts modelIdentity). */
  modelId: number;
}

/**
 * Clocks per UART bit. A UART receiver tolerates a few percent of rate mismatch in all; keep our
 * side within 2 % so the other side's error still fits.
 */
export function clocksPerBit(clockHz: number, baud: number, where = 'target.baud'): number {
  const n = Math.round(clockHz / baud);
  const error = Math.abs(clockHz / n / baud - 1);
  if (n < 4 || error > 0.02) {
    throw new DeepMakerError(
      `a ${baud} baud UART cannot be made from a ${clockHz / 1e6} MHz clock (${n} clocks per bit, ${(error * 100).toFixed(1)} % off)`,
      { where },
      'use a lower baud rate (e.g. 115200, 57600, 9600)',
    );
  }
  return n;
}

export function boardTopModule(board: Board): string {
  return `deepmaker_${board.name.replace(/[^A-Za-z0-9]/g, '_')}_top`;
}

export interface BoardTop {
  module: string;
  verilog: string;
  pcf: string;
  clocksPerBit: number;
  baud: number;
  /** The baud rate the divider really makes. */
  actualBaud: number;
  timeoutClocks: number;
  /** The clock the design runs at. */
  clockMHz: number;
}

/** The design clock: the board's oscillator itself, or a PLL's output from it. */
export interface DesignClock {
  mhz: number;
  pll?: PllConfig;
}

/**
 * Verilog of the board top. `timeoutMs`: how long a half-sent sample may stall before it is dropped.
 * `clock`: the design clock (default: the oscillator, no PLL); the UART divider and the timeout follow it.
 */
export function boardTop(board: Board, accel: AccelPorts, baud = DEFAULT_BAUD, timeoutMs = 100, clock: DesignClock = { mhz: board.oscillatorMHz }): BoardTop {
  if (accel.classBits > 8) {
    throw new DeepMakerError(`the UART wrapper answers with one byte, but the model has more than 256 classes (${accel.classBits}-bit class index)`, { where: 'target.board' }, 'use target.board: none and drive the stream interface directly');
  }
  if (clock.pll && clock.pll.refMHz !== board.oscillatorMHz) throw new Error(`PLL set for a ${clock.pll.refMHz} MHz reference on a ${board.oscillatorMHz} MHz board`);
  const clockHz = clock.mhz * 1e6;
  const cpb = clocksPerBit(clockHz, baud);
  const timeoutClocks = Math.round((clockHz * timeoutMs) / 1000);
  const pins = boardPins(board);
  for (const s of [board.clock, board.uartRx, board.uartTx, ...board.leds.map((l) => l.signal)]) {
    if (!pins.has(s)) throw new Error(`board ${board.name}: signal ${s} is not in ${boardPcfPath(board)}`);
  }
  const leds = board.leds.filter((l) => l.role.kind !== 'class' || l.role.bit < accel.classBits);
  const ports = [`  input  wire ${board.clock}`, `  input  wire ${board.uartRx}`, `  output wire ${board.uartTx}`, ...leds.map((l) => `  output wire ${l.signal}`)];
  const ledAssigns = leds.map((l) => {
    const value = l.role.kind === 'ready' ? 'ready' : l.role.kind === 'error' ? 'error' : `last_class[${l.role.bit}]`;
    return `  assign ${l.signal} = ${l.activeLow ? '~' : ''}${value};`;
  });
  const module = boardTopModule(board);
  const clk = clock.pll ? 'clk' : board.clock;
  const pll = clock.pll
    ? `  // ${clock.pll.refMHz} MHz -> ${clock.pll.outMHz} MHz (src/fpga/pll.ts: F_PFD ${clock.pll.pfdMHz} MHz, F_VCO ${clock.pll.vcoMHz} MHz).
  wire clk, pll_lock;
  SB_PLL40_${board.pll === 'pad' ? 'PAD' : 'CORE'} #(
    ${pllParameters(clock.pll)}
  ) u_pll (
    .${board.pll === 'pad' ? 'PACKAGEPIN' : 'REFERENCECLK'}(${board.clock}),
    .PLLOUTGLOBAL(clk),
    .LOCK(pll_lock),
    .RESETB(1'b1),
    .BYPASS(1'b0)
  );

  // Reset until the PLL is locked, then for 15 more clocks (iCE40 flip-flops start at 0 after configuration).
  reg [3:0] por = 4'd0;
  wire rst = ~&por;
  always @(posedge clk) if (!pll_lock) por <= 4'd0; else if (rst) por <= por + 1'b1;
`
    : `  // Power-on reset: iCE40 flip-flops start at 0 after configuration; hold reset for 15 clocks.
  reg [3:0] por = 4'd0;
  wire rst = ~&por;
  always @(posedge ${clk}) if (rst) por <= por + 1'b1;
`;
  const verilog = `// ${board.title}: the accelerator behind a ${baud} baud UART at ${clock.mhz} MHz (generated by deepmaker; see src/fpga/uart-top.ts).
module ${module} (
${ports.join(',\n')}
);
${pll}
  wire ready, error;
  wire [${accel.classBits - 1}:0] last_class;
  deepmaker_uart_bridge #(
    .CLKS_PER_BIT(${cpb}),
    .INPUT_BYTES(${accel.inputBytes}),
    .OUT_BITS(${accel.outBits}),
    .CLASS_BITS(${accel.classBits}),
    .TIMEOUT_CLKS(${timeoutClocks}),
    .INFO_BYTES(${INFO_BYTES}),
    .INFO(${infoVerilog(infoBlock(accel))})  // identity: "DM", protocol ${PROTOCOL_VERSION}, ${accel.inputBytes} bytes in, ${accel.outputs} classes, model ${hexId(accel.modelId)}
  ) u_bridge (
    .clk(${clk}), .rst(rst), .rx(${board.uartRx}), .tx(${board.uartTx}),
    .ready(ready), .error(error), .last_class(last_class)
  );

${ledAssigns.join('\n')}
endmodule
`;
  return { module, verilog, pcf: boardPcfPath(board), clocksPerBit: cpb, baud, actualBaud: clockHz / cpb, timeoutClocks, clockMHz: clock.mhz };
}
