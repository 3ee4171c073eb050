/**
 * The C helpers of the fixed-point model: exactly the operations of src/numerics/fixed.ts
 * (quantize, requantize, requantizeDiv, wrap/saturate, the activation rules), written without
 * undefined or implementation-defined behaviour (no signed overflow, no right shift of a negative
 * number), so the sanitizers stay quiet and any C99 compiler gives the same bits.
 */
export const FIXED_RUNTIME_C = String.raw`
/* ---- fixed-point helpers: the semantics of src/numerics/fixed.ts ---- */

/* The two's complement value of the low bits bits of u (1 <= bits <= 64). */
static inline int64_t dm_sext(uint64_t u, int bits)
{
    uint64_t mask = bits >= 64 ? UINT64_MAX : (((uint64_t)1 << bits) - 1u);
    uint64_t sign = (uint64_t)1 << (bits - 1);
    u &= mask;
    return (u & sign) ? -(int64_t)(mask - u) - 1 : (int64_t)u;
}

/* The overflow rule of the knobs, to a signed width of bits (<= 32). */
static inline int32_t dm_overflow(int64_t q, int bits)
{
#if DM_OVERFLOW == DM_SATURATE
    int64_t hi = ((int64_t)1 << (bits - 1)) - 1, lo = -hi - 1;
    return (int32_t)(q > hi ? hi : (q < lo ? lo : q));
#else
    return (int32_t)dm_sext((uint64_t)q, bits);
#endif
}

/* floor(v / 2^s), s >= 0, without shifting a negative number. */
static inline int64_t dm_floor_shift(int64_t v, int s)
{
    if (s <= 0) return v;
    if (s >= 63) return v < 0 ? -1 : 0;
    if (v >= 0) return v >> s;
    return -(int64_t)(((uint64_t)(-(v + 1))) >> s) - 1;
}

/* v / 2^s (s > 0) rounded by the knob: truncate = floor, half-even = nearest, ties to even. */
static inline int64_t dm_shift_round(int64_t v, int s)
{
    int64_t fl = dm_floor_shift(v, s);
#if DM_ROUNDING == DM_HALF_EVEN
    uint64_t rem, half;
    if (s >= 64) return 0; /* |v / 2^s| <= 1/2, and a tie rounds to the even 0 */
    rem = (uint64_t)v - ((uint64_t)fl << s);
    half = (uint64_t)1 << (s - 1);
    if (rem > half || (rem == half && fl % 2 != 0)) fl += 1;
#endif
    return fl;
}

/* requantize: an exact value with from_frac fractional bits -> bits wide with frac fractional bits. */
static inline int32_t dm_requant(int64_t acc, int from_frac, int bits, int frac)
{
    int s = frac - from_frac;
    int64_t q;
    if (s == 0) q = acc;
    else if (s < 0) q = dm_shift_round(acc, -s);
    else {
#if DM_OVERFLOW == DM_SATURATE
        int64_t lim = s >= 63 ? 0 : (INT64_MAX >> s);
        if (acc > lim) q = INT64_MAX;
        else if (acc < -lim - 1) q = INT64_MIN;
        else q = acc * ((int64_t)1 << s);
#else
        if (s >= bits) return 0;
        q = dm_sext((uint64_t)acc << s, bits);
#endif
    }
    return dm_overflow(q, bits);
}

/* requantizeDiv: acc / (n * 2^from_frac) rounded once to frac, then the overflow rule (average pooling). */
static inline int32_t dm_requant_div(int64_t acc, int from_frac, int64_t n, int bits, int frac)
{
    int64_t num = acc, den = n, q, rem;
    if (frac >= from_frac) num = acc * ((int64_t)1 << (frac - from_frac));
    else den = n * ((int64_t)1 << (from_frac - frac));
    q = num / den;
    rem = num - q * den;
    if (rem < 0) { q -= 1; rem += den; } /* C division truncates toward zero; make it floor */
#if DM_ROUNDING == DM_HALF_EVEN
    if (2 * rem > den || (2 * rem == den && q % 2 != 0)) q += 1;
#endif
    return dm_overflow(q, bits);
}

/* quantize: a real value -> its stored integer, bits wide with frac fractional bits. */
static inline int32_t dm_quantize(double v, int bits, int frac, int saturate)
{
    double x, f, lim;
    if (v != v) return 0;
    x = ldexp(v, frac);
    lim = ldexp(1.0, bits - 1);
    if (x - x != 0.0) { /* infinite */
        if (saturate) return (int32_t)(x > 0 ? lim - 1.0 : -lim);
        return 0;
    }
    f = floor(x);
#if DM_ROUNDING == DM_HALF_EVEN
    {
        double d = x - f;
        if (d > 0.5 || (d == 0.5 && fmod(f, 2.0) != 0.0)) f += 1.0;
    }
#endif
    if (saturate) return (int32_t)(f > lim - 1.0 ? lim - 1.0 : (f < -lim ? -lim : f));
    {
        double m = 2.0 * lim, r = fmod(f, m);
        if (r < 0) r += m;
        if (r >= lim) r -= m;
        return (int32_t)r;
    }
}

static inline double dm_dequantize(int64_t q, int frac)
{
    return ldexp((double)q, -frac);
}
`;

/** Float-mode activation helpers (what Keras/TF.js compute in float32). */
export const FLOAT_RUNTIME_C = String.raw`
static inline float dm_relu(float x) { return x > 0.0f ? x : 0.0f; }
static inline float dm_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }
static inline float dm_hard_sigmoid(float x, float slope)
{
    float y = slope * x + 0.5f;
    return y < 0.0f ? 0.0f : (y > 1.0f ? 1.0f : y);
}
static inline float dm_elu(float x, float alpha) { return x > 0.0f ? x : alpha * expm1f(x); }
`;
