/**
 * The C++ testbench shared by the compiled simulators (CXXRTL, Verilator): the file-to-memory
 * interface around a module with the stream interface of src/rtl/interface.ts.
 *
 *   sim INPUT OUTPUT INPUT_BYTES OUTPUTS OUT_BITS SAMPLES MAX_CYCLES
 *
 * INPUT: raw bytes, SAMPLES samples of INPUT_BYTES bytes back to back (what the input stream carries).
 * OUTPUT: text, one line per sample: `class cycles logit_0 ... logit_{OUTPUTS-1}` (logits signed).
 * `cycles`: from the cycle of the last input handshake to the first cycle with out_valid (the figure
 * src/rtl/cycles.ts predicts). A sample taking more than MAX_CYCLES stops the run with exit code 3.
 *
 * Each cycle: drive inputs, evaluate with clk low, sample the handshakes, raise clk (the edge).
 */
export const DRIVER_CC = String.raw`
#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <vector>

#if defined(DM_CXXRTL)
#include DM_DESIGN_CC
static DM_TOP_CLASS top;
#define SET_IN(p, v) top.p_##p.set<uint32_t>((uint32_t)(v))
#define GET_OUT(p) (top.p_##p.get<uint32_t>())
#define SET_CLK(v) top.p_clk.set<bool>((v) != 0)
#define EVAL() top.step()
#define P_RST rst
#define P_IN_VALID in__valid
#define P_IN_READY in__ready
#define P_IN_DATA in__data
#define P_OUT_VALID out__valid
#define P_OUT_READY out__ready
#define P_OUT_DATA out__data
#define P_OUT_LAST out__last
#define P_OUT_CLASS out__class
#elif defined(DM_VERILATOR)
#include DM_VERILATOR_HEADER
#include "verilated.h"
static DM_TOP_CLASS *topp;
#define SET_IN(p, v) (topp->p = (v))
#define GET_OUT(p) ((uint32_t)topp->p)
#define SET_CLK(v) (topp->clk = (v))
#define EVAL() topp->eval()
#define P_RST rst
#define P_IN_VALID in_valid
#define P_IN_READY in_ready
#define P_IN_DATA in_data
#define P_OUT_VALID out_valid
#define P_OUT_READY out_ready
#define P_OUT_DATA out_data
#define P_OUT_LAST out_last
#define P_OUT_CLASS out_class
double sc_time_stamp() { return 0; }
#endif

#define EXPAND_SET(p, v) SET_IN(p, v)
#define EXPAND_GET(p) GET_OUT(p)

static uint64_t cycle_count = 0;

static void tick()
{
    SET_CLK(0);
    EVAL();
    SET_CLK(1);
    EVAL();
    cycle_count++;
}

int main(int argc, char **argv)
{
    if (argc != 8) {
        std::fprintf(stderr, "usage: %s INPUT OUTPUT INPUT_BYTES OUTPUTS OUT_BITS SAMPLES MAX_CYCLES\n", argv[0]);
        return 2;
    }
#if defined(DM_VERILATOR)
    Verilated::commandArgs(argc, argv);
    topp = new DM_TOP_CLASS;
#endif
    const long in_bytes = std::atol(argv[3]), outputs = std::atol(argv[4]);
    const int out_bits = std::atoi(argv[5]);
    const long samples = std::atol(argv[6]);
    const uint64_t max_cycles = std::strtoull(argv[7], nullptr, 10);
    FILE *in = std::fopen(argv[1], "rb");
    if (!in) { std::fprintf(stderr, "cannot open %s\n", argv[1]); return 2; }
    FILE *out = std::fopen(argv[2], "w");
    if (!out) { std::fprintf(stderr, "cannot open %s\n", argv[2]); return 2; }
    std::vector<unsigned char> sample((size_t)in_bytes);
    std::vector<long> logits((size_t)outputs);

    EXPAND_SET(P_IN_VALID, 0);
    EXPAND_SET(P_OUT_READY, 0);
    EXPAND_SET(P_IN_DATA, 0);
    EXPAND_SET(P_RST, 1);
    tick();
    tick();
    EXPAND_SET(P_RST, 0);

    for (long s = 0; s < samples; s++) {
        if (std::fread(sample.data(), 1, (size_t)in_bytes, in) != (size_t)in_bytes) {
            std::fprintf(stderr, "%s: sample %ld is short (expected %ld bytes)\n", argv[1], s, in_bytes);
            return 2;
        }
        long sent = 0, got = 0;
        uint64_t start = cycle_count, last_in = 0, first_out = 0;
        bool have_out = false;
        unsigned cls = 0;
        while (got < outputs) {
            const bool offer = sent < in_bytes;
            EXPAND_SET(P_IN_VALID, offer ? 1 : 0);
            EXPAND_SET(P_IN_DATA, offer ? sample[(size_t)sent] : 0);
            EXPAND_SET(P_OUT_READY, 1);
            SET_CLK(0);
            EVAL();
            const bool in_fire = offer && EXPAND_GET(P_IN_READY);
            const bool out_fire = EXPAND_GET(P_OUT_VALID) != 0;
            if (in_fire && sent == in_bytes - 1) last_in = cycle_count;
            if (out_fire) {
                if (!have_out) { first_out = cycle_count; have_out = true; }
                uint32_t raw = EXPAND_GET(P_OUT_DATA);
                long v = (long)(raw & ((out_bits >= 32) ? 0xffffffffu : ((1u << out_bits) - 1u)));
                if (out_bits < 64 && (v >> (out_bits - 1)) & 1) v -= (1L << out_bits);
                logits[(size_t)got] = v;
                cls = EXPAND_GET(P_OUT_CLASS);
                const bool last = EXPAND_GET(P_OUT_LAST) != 0;
                if (last != (got == outputs - 1)) {
                    std::fprintf(stderr, "sample %ld: out_last=%d on logit %ld of %ld\n", s, (int)last, got, outputs);
                    return 4;
                }
                got++;
            }
            if (in_fire) sent++;
            SET_CLK(1);
            EVAL();
            cycle_count++;
            if (cycle_count - start > max_cycles) {
                std::fprintf(stderr, "sample %ld: no result after %llu cycles (sent %ld of %ld bytes, got %ld of %ld logits)\n",
                             s, (unsigned long long)max_cycles, sent, in_bytes, got, outputs);
                return 3;
            }
        }
        std::fprintf(out, "%u %llu", cls, (unsigned long long)(first_out - last_in));
        for (long i = 0; i < outputs; i++) std::fprintf(out, " %ld", logits[(size_t)i]);
        std::fputc('\n', out);
    }
    std::fclose(out);
    std::fclose(in);
    std::fprintf(stderr, "simulated %ld samples, %llu cycles\n", samples, (unsigned long long)cycle_count);
#if defined(DM_VERILATOR)
    topp->final();
    delete topp;
#endif
    return 0;
}
`;
