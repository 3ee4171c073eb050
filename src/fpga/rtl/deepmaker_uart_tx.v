// UART transmitter, 8N1, LSB first. Takes a byte when `valid && ready`, then drives the start bit,
// the 8 data bits and the stop bit for CLKS_PER_BIT clocks each. `ready` is high while idle.
module deepmaker_uart_tx #(
  parameter integer CLKS_PER_BIT = 104
) (
  input  wire       clk,
  input  wire       rst,      // synchronous, active high
  input  wire [7:0] data,
  input  wire       valid,
  output wire       ready,
  output reg        tx        // serial line, idle high
);
  localparam integer CW = $clog2(CLKS_PER_BIT + 1);

  reg [8:0]    shift;         // data bits still to send, with 1s shifted in behind them (the stop bit)
  reg [3:0]    bits_left;     // bit periods left in the current frame (10 = start bit)
  reg [CW-1:0] count;

  assign ready = (bits_left == 4'd0);

  always @(posedge clk) begin
    if (rst) begin
      tx        <= 1'b1;
      shift     <= 9'h1ff;
      bits_left <= 4'd0;
      count     <= {CW{1'b0}};
    end else if (bits_left == 4'd0) begin
      tx <= 1'b1;
      if (valid) begin
        shift     <= {1'b1, data};
        tx        <= 1'b0;           // start bit
        bits_left <= 4'd10;
        count     <= CLKS_PER_BIT - 1;
      end
    end else if (count == 0) begin
      count     <= CLKS_PER_BIT - 1;
      bits_left <= bits_left - 1'b1;
      if (bits_left != 4'd1) begin   // the last period is the stop bit already on the line
        tx    <= shift[0];
        shift <= {1'b1, shift[8:1]};
      end
    end else begin
      count <= count - 1'b1;
    end
  end
endmodule
