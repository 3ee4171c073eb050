// The UART front end of the accelerator: bytes in, class byte out.
//
// Protocol (8N1 at the configured baud rate; see README "FPGA toolchain, devices and boards"):
//   host -> FPGA: one sample, INPUT_BYTES bytes, exactly the accelerator's input stream
//                 (src/rtl/interface.ts: stored integers, channels_last, LSB first per element)
//   FPGA -> host: one byte, the class index (argmax of the logits)
// The host sends the next sample after it has the reply. If a sample stops part-way (the host
// died, a byte was lost) for TIMEOUT_CLKS clocks, the bridge resets the accelerator and drops the
// partial sample, so the next byte starts a fresh one; `error` then lights until the next good reply.
//
// A byte that arrives while the accelerator cannot take it (the host did not wait for the reply)
// is dropped and also sets `error`.
module deepmaker_uart_bridge #(
  parameter integer CLKS_PER_BIT = 104,
  parameter integer INPUT_BYTES  = 784,
  parameter integer OUT_BITS     = 16,
  parameter integer CLASS_BITS   = 4,
  parameter integer TIMEOUT_CLKS = 1200000
) (
  input  wire                  clk,
  input  wire                  rst,
  input  wire                  rx,
  output wire                  tx,
  output wire                  ready,       // idle: waiting for the first byte of a sample
  output reg                   error,
  output reg  [CLASS_BITS-1:0] last_class
);
  localparam integer NW = $clog2(INPUT_BYTES + 1);
  localparam integer TW = $clog2(TIMEOUT_CLKS + 1);

  wire [7:0] rx_data;
  wire       rx_valid, rx_frame_error;
  deepmaker_uart_rx #(.CLKS_PER_BIT(CLKS_PER_BIT)) u_rx (
    .clk(clk), .rst(rst), .rx(rx), .data(rx_data), .valid(rx_valid), .frame_error(rx_frame_error)
  );

  // One byte of buffering between the receiver and the accelerator.
  reg        pending;
  reg  [7:0] pending_data;
  reg  [NW-1:0] received;          // bytes of the current sample handed to the accelerator
  reg  [TW-1:0] idle;              // clocks since the last byte of an unfinished sample
  reg        resync;               // resets the accelerator after a timeout
  reg        tx_start;
  reg  [7:0] tx_byte;

  wire accel_rst = rst | resync;
  wire in_ready, out_valid, out_last;
  wire [OUT_BITS-1:0]   out_data;
  wire [CLASS_BITS-1:0] out_class;
  wire tx_ready;
  wire [7:0] class_byte = out_class;     // zero-extended (CLASS_BITS <= 8: at most 256 classes)

  deepmaker_accel u_accel (
    .clk(clk), .rst(accel_rst),
    .in_valid(pending), .in_ready(in_ready), .in_data(pending_data),
    .out_valid(out_valid), .out_ready(1'b1), .out_data(out_data), .out_last(out_last), .out_class(out_class)
  );

  deepmaker_uart_tx #(.CLKS_PER_BIT(CLKS_PER_BIT)) u_tx (
    .clk(clk), .rst(rst), .data(tx_byte), .valid(tx_start), .ready(tx_ready), .tx(tx)
  );

  assign ready = !pending && received == 0 && in_ready;

  always @(posedge clk) begin
    resync <= 1'b0;
    if (rst) begin
      pending    <= 1'b0;
      received   <= {NW{1'b0}};
      idle       <= {TW{1'b0}};
      tx_start   <= 1'b0;
      tx_byte    <= 8'd0;
      error      <= 1'b0;
      last_class <= {CLASS_BITS{1'b0}};
    end else begin
      // receiver -> accelerator
      if (pending && in_ready) begin
        pending  <= 1'b0;
        received <= (received == INPUT_BYTES - 1) ? {NW{1'b0}} : received + 1'b1;
      end
      if (rx_valid) begin
        if (pending && !in_ready) begin
          error <= 1'b1;                 // overrun: the previous byte is still waiting
        end else begin
          pending      <= 1'b1;
          pending_data <= rx_data;
        end
      end
      if (rx_frame_error) error <= 1'b1;

      // an unfinished sample that stalls is dropped
      if (rx_valid || received == 0 || resync) begin
        idle <= {TW{1'b0}};
      end else if (idle == TIMEOUT_CLKS) begin
        resync   <= 1'b1;
        received <= {NW{1'b0}};
        pending  <= 1'b0;
        error    <= 1'b1;
        idle     <= {TW{1'b0}};
      end else begin
        idle <= idle + 1'b1;
      end

      // accelerator -> transmitter: the class, once per sample
      if (tx_start && tx_ready) tx_start <= 1'b0;
      if (out_valid && out_last) begin
        tx_start   <= 1'b1;
        tx_byte    <= class_byte;
        last_class <= out_class;
        error      <= 1'b0;
      end
    end
  end
endmodule
