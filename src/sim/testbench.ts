/**
 * A Verilog testbench with the same file-to-memory interface as the compiled simulators' driver
 * (src/sim/driver.ts), for event-driven simulators (Icarus Verilog, commercial ones):
 *
 *   iverilog -g2005 -o tb tb_deepmaker_accel.v deepmaker_accel.v && vvp tb +samples=N
 *
 * (at most MAX_SAMPLES samples per run: iverilog -Ptb_deepmaker_accel.MAX_SAMPLES=... to change it)
 *
 * Reads input.hex (one input byte per line, samples back to back; +input=FILE to change), writes
 * output.txt (+output=FILE): per sample `class cycles logit_0 ... logit_{n-1}`, like the driver.
 */
import type { StreamInterface } from '../rtl/interface';

export const TESTBENCH_FILE = 'tb_deepmaker_accel.v';

export function verilogTestbench(iface: StreamInterface, maxSamples = 1000): string {
  const OB = iface.outBits;
  const CB = iface.classBits;
  return `// Testbench for ${iface.top}: input bytes from a hex file, logits, class and cycles to a text file.
\`timescale 1ns / 1ps
module tb_${iface.top};
  localparam IN_BYTES = ${iface.inputBytes};
  localparam OUTPUTS = ${iface.outputs};
  parameter MAX_SAMPLES = ${maxSamples};
  reg clk = 1'b0;
  reg rst = 1'b1;
  reg in_valid = 1'b0;
  reg [7:0] in_data = 8'd0;
  wire in_ready;
  wire out_valid;
  wire [${OB - 1}:0] out_data;
  wire out_last;
  wire [${CB - 1}:0] out_class;
  ${iface.top} dut (.clk(clk), .rst(rst), .in_valid(in_valid), .in_ready(in_ready), .in_data(in_data),
    .out_valid(out_valid), .out_ready(1'b1), .out_data(out_data), .out_last(out_last), .out_class(out_class));

  reg [7:0] bytes [0:IN_BYTES * MAX_SAMPLES - 1];
  reg [1023:0] in_file, out_file;
  integer samples, s, sent, got, fo, cycle, last_in, first_out;
  always #5 clk = ~clk;
  always @(posedge clk) cycle <= cycle + 1;

  initial begin
    cycle = 0;
    if (!$value$plusargs("samples=%d", samples)) samples = 1;
    if (samples > MAX_SAMPLES) begin
      $display("+samples=%0d exceeds MAX_SAMPLES=%0d", samples, MAX_SAMPLES);
      $finish;
    end
    if (!$value$plusargs("input=%s", in_file)) in_file = "input.hex";
    if (!$value$plusargs("output=%s", out_file)) out_file = "output.txt";
    $readmemh(in_file, bytes, 0, IN_BYTES * samples - 1);
    fo = $fopen(out_file, "w");
    repeat (2) @(posedge clk);
    #1 rst = 1'b0;
    for (s = 0; s < samples; s = s + 1) begin
      sent = 0;
      got = 0;
      first_out = -1;
      while (got < OUTPUTS) begin
        in_valid = (sent < IN_BYTES);
        in_data = (sent < IN_BYTES) ? bytes[s * IN_BYTES + sent] : 8'd0;
        @(negedge clk);
        if (in_valid && in_ready) begin
          if (sent == IN_BYTES - 1) last_in = cycle;
          sent = sent + 1;
        end
        if (out_valid) begin
          if (first_out < 0) begin
            first_out = cycle;
            $fwrite(fo, "%0d %0d", out_class, first_out - last_in);
          end
          $fwrite(fo, " %0d", $signed(out_data));
          got = got + 1;
        end
        @(posedge clk);
        #1;
      end
      $fwrite(fo, "\\n");
    end
    $fclose(fo);
    $finish;
  end
endmodule
`;
}
