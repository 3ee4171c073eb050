// UART receiver, 8 data bits, no parity, 1 stop bit (8N1), LSB first.
//
// CLKS_PER_BIT = clock frequency / baud rate, rounded (12 MHz / 115200 -> 104, 0.16 % fast).
// The line goes through a two-flip-flop synchroniser (it comes from another clock domain).
// A falling edge starts a byte; the start bit must still be low half a bit later (glitch
// rejection), then each bit is sampled in its middle. A byte whose stop bit reads low is dropped
// and `frame_error` pulses; the receiver then waits for the line to go idle (high) again, so a
// break or a baud-rate mismatch cannot make it spin on garbage.
module deepmaker_uart_rx #(
  parameter integer CLKS_PER_BIT = 104
) (
  input  wire       clk,
  input  wire       rst,          // synchronous, active high
  input  wire       rx,           // serial line, idle high
  output reg  [7:0] data,
  output reg        valid,        // one-cycle pulse with `data`
  output reg        frame_error   // one-cycle pulse: stop bit was low, byte dropped
);
  localparam integer CW = $clog2(CLKS_PER_BIT + 1);
  localparam [1:0] IDLE = 2'd0, START = 2'd1, BITS = 2'd2, STOP = 2'd3;

  reg          rx_meta = 1'b1;
  reg          rx_sync = 1'b1;
  reg [1:0]    state;
  reg [CW-1:0] count;
  reg [2:0]    bit_index;
  reg [7:0]    shift;
  reg          wait_idle;

  always @(posedge clk) begin
    rx_meta     <= rx;
    rx_sync     <= rx_meta;
    valid       <= 1'b0;
    frame_error <= 1'b0;
    if (rst) begin
      state     <= IDLE;
      count     <= {CW{1'b0}};
      bit_index <= 3'd0;
      wait_idle <= 1'b0;
      data      <= 8'd0;
    end else begin
      case (state)
        IDLE: begin
          if (wait_idle) begin
            if (rx_sync) wait_idle <= 1'b0;
          end else if (!rx_sync) begin
            state <= START;
            count <= CLKS_PER_BIT / 2 - 1;
          end
        end
        START: begin
          if (count == 0) begin
            if (!rx_sync) begin
              state     <= BITS;
              count     <= CLKS_PER_BIT - 1;
              bit_index <= 3'd0;
            end else begin
              state <= IDLE;            // a glitch, not a start bit
            end
          end else begin
            count <= count - 1'b1;
          end
        end
        BITS: begin
          if (count == 0) begin
            shift <= {rx_sync, shift[7:1]};
            count <= CLKS_PER_BIT - 1;
            if (bit_index == 3'd7) state <= STOP;
            bit_index <= bit_index + 1'b1;
          end else begin
            count <= count - 1'b1;
          end
        end
        STOP: begin
          if (count == 0) begin
            state <= IDLE;
            if (rx_sync) begin
              data  <= shift;
              valid <= 1'b1;
            end else begin
              frame_error <= 1'b1;
              wait_idle   <= 1'b1;
            end
          end else begin
            count <= count - 1'b1;
          end
        end
      endcase
    end
  end
endmodule
