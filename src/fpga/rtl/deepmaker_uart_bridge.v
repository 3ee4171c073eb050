// The UART front end of the accelerator: commands in, answers out.
//
// Protocol version 1 (8N1 at the configured baud rate; see README "Talking to the board"). Every
// message from the host starts with a command byte:
//   'S' (0x53), then INPUT_BYTES bytes: one sample, exactly the accelerator's input stream
//                 (src/rtl/interface.ts: stored integers, channels_last, LSB first per element).
//                 The FPGA answers with one byte, the class index (argmax of the logits).
//   '?' (0x3F):   identify. The FPGA answers with the INFO_BYTES bytes of INFO (byte k = INFO[8k+7:8k]):
//                 magic "DM", the protocol version, the model's input size, classes and identity
//                 (src/fpga/board-protocol.ts writes and reads the block).
//   any other byte at a message boundary is dropped and sets `error`.
// Why a command byte: a sample is raw bytes, so no byte value can mark a query by itself; a BREAK
// would, but a pseudo-terminal (the simulated board) cannot carry one and USB serial adapters differ
// in how they pass it. One byte more per sample costs 0.13 % of the line time of a 784-byte image.
//
// The host sends the next command after it has the answer. If a sample stops part-way (the host
// died, a byte was lost) for TIMEOUT_CLKS clocks, the bridge resets the accelerator and drops the
// partial sample, so the next byte is a command again; `error` then lights until the next good reply.
// A host that connects to a board in an unknown state waits longer than the timeout before its first
// command.
//
// A byte that arrives while the accelerator cannot take it (the host did not wait for the reply)
// is dropped and also sets `error`.
module deepmaker_uart_bridge #(
  parameter integer CLKS_PER_BIT = 104,
  parameter integer INPUT_BYTES  = 784,
  parameter integer OUT_BITS     = 16,
  parameter integer CLASS_BITS   = 4,
  parameter integer TIMEOUT_CLKS = 1200000,
  parameter integer INFO_BYTES   = 16,
  parameter [8*INFO_BYTES-1:0] INFO = {8*INFO_BYTES{1'b0}}
) (
  input  wire                  clk,
  input  wire                  rst,
  input  wire                  rx,
  output wire                  tx,
  output wire                  ready,       // idle: waiting for a command
  output reg                   error,
  output reg  [CLASS_BITS-1:0] last_class
);
  localparam integer NW = $clog2(INPUT_BYTES + 1);
  localparam integer TW = $clog2(TIMEOUT_CLKS + 1);
  localparam integer IW = $clog2(INFO_BYTES);      // the index of the byte being sent: 4 bits for 16
  localparam [7:0] CMD_SAMPLE = 8'h53;   // 'S'
  localparam [7:0] CMD_INFO   = 8'h3F;   // '?'

  wire [7:0] rx_data;
  wire       rx_valid, rx_frame_error;
  deepmaker_uart_rx #(.CLKS_PER_BIT(CLKS_PER_BIT)) u_rx (
    .clk(clk), .rst(rst), .rx(rx), .data(rx_data), .valid(rx_valid), .frame_error(rx_frame_error)
  );

  // One byte of buffering between the receiver and the accelerator.
  reg        pending;
  reg  [7:0] pending_data;
  reg        in_sample;            // a sample command was taken; its bytes go to the accelerator
  reg  [NW-1:0] received;          // bytes of the current sample received from the line
  reg  [TW-1:0] idle;              // clocks since the last byte of an unfinished sample
  reg        resync;               // resets the accelerator after a timeout
  reg        tx_start;
  reg  [7:0] tx_byte;
  reg        class_pending;        // a class answer (last_class) waits for the transmitter
  reg        info_active;          // identity bytes are being sent
  reg  [IW-1:0] info_index;        // the next identity byte

  wire accel_rst = rst | resync;
  wire in_ready, out_valid, out_last;
  wire [OUT_BITS-1:0]   out_data;
  wire [CLASS_BITS-1:0] out_class;
  wire tx_ready;

  deepmaker_accel u_accel (
    .clk(clk), .rst(accel_rst),
    .in_valid(pending), .in_ready(in_ready), .in_data(pending_data),
    .out_valid(out_valid), .out_ready(1'b1), .out_data(out_data), .out_last(out_last), .out_class(out_class)
  );

  deepmaker_uart_tx #(.CLKS_PER_BIT(CLKS_PER_BIT)) u_tx (
    .clk(clk), .rst(rst), .data(tx_byte), .valid(tx_start), .ready(tx_ready), .tx(tx)
  );

  assign ready = !pending && !in_sample && in_ready;

  always @(posedge clk) begin
    resync <= 1'b0;
    if (rst) begin
      pending       <= 1'b0;
      in_sample     <= 1'b0;
      received      <= {NW{1'b0}};
      idle          <= {TW{1'b0}};
      tx_start      <= 1'b0;
      tx_byte       <= 8'd0;
      class_pending <= 1'b0;
      info_active   <= 1'b0;
      info_index    <= {IW{1'b0}};
      error         <= 1'b0;
      last_class    <= {CLASS_BITS{1'b0}};
    end else begin
      // receiver -> accelerator
      if (pending && in_ready) pending <= 1'b0;
      if (rx_valid) begin
        if (!in_sample) begin
          // a message boundary: the byte is a command
          if (rx_data == CMD_SAMPLE) begin
            in_sample <= 1'b1;
            received  <= {NW{1'b0}};
          end else if (rx_data == CMD_INFO) begin
            if (!info_active) begin
              info_active <= 1'b1;
              info_index  <= {IW{1'b0}};
            end
          end else begin
            error <= 1'b1;               // not a command
          end
        end else if (pending && !in_ready) begin
          error <= 1'b1;                 // overrun: the previous byte is still waiting
        end else begin
          pending      <= 1'b1;
          pending_data <= rx_data;
          if (received == INPUT_BYTES - 1) begin
            in_sample <= 1'b0;           // the whole sample is in: the next byte is a command
            received  <= {NW{1'b0}};
          end else begin
            received <= received + 1'b1;
          end
        end
      end
      if (rx_frame_error) error <= 1'b1;

      // an unfinished sample that stalls is dropped
      if (rx_valid || !in_sample || resync) begin
        idle <= {TW{1'b0}};
      end else if (idle == TIMEOUT_CLKS) begin
        resync    <= 1'b1;
        in_sample <= 1'b0;
        received  <= {NW{1'b0}};
        pending   <= 1'b0;
        error     <= 1'b1;
        idle      <= {TW{1'b0}};
      end else begin
        idle <= idle + 1'b1;
      end

      // the transmitter: a class answer first, else the next identity byte
      if (tx_start) begin
        if (tx_ready) tx_start <= 1'b0;
      end else if (tx_ready) begin
        if (class_pending) begin
          tx_start      <= 1'b1;
          tx_byte       <= last_class;   // zero-extended (CLASS_BITS <= 8: at most 256 classes)
          class_pending <= 1'b0;
        end else if (info_active) begin
          tx_start   <= 1'b1;
          tx_byte    <= INFO[8*info_index +: 8];
          info_index <= info_index + 1'b1;
          if (info_index == INFO_BYTES - 1) info_active <= 1'b0;
        end
      end

      // accelerator -> transmitter: the class, once per sample (after the arbitration above, so a
      // class that arrives as the previous one is handed over is not lost)
      if (out_valid && out_last) begin
        class_pending <= 1'b1;
        last_class    <= out_class;
        error         <= 1'b0;
      end
    end
  end
endmodule
