/** Tiny helpers that print readable C index arithmetic (no `* 1`, no `+ 0`). */

/** a * k (k a constant). */
export function mul(a: string, k: number): string {
  if (k === 0 || a === '0') return '0';
  if (k === 1) return a;
  return `${a} * ${k}`;
}

/** Sum of terms, dropping zeros; negative constants become subtractions. */
export function sum(...terms: (string | number)[]): string {
  const parts: string[] = [];
  let constant = 0;
  for (const t of terms) {
    if (typeof t === 'number') constant += t;
    else if (t !== '0') parts.push(t);
  }
  let s = parts.join(' + ');
  if (constant > 0) s = s ? `${s} + ${constant}` : String(constant);
  else if (constant < 0) s = s ? `${s} - ${-constant}` : String(constant);
  return s || '0';
}

/** Row-major flat index of (i0, i1, ...) in dims (d0, d1, ...): ((i0 * d1 + i1) * d2 + i2)... */
export function flatIndex(idx: string[], dims: number[]): string {
  let e = idx[0];
  for (let k = 1; k < idx.length; k++) {
    const inner = e === '0' ? '0' : mul(/[ +*-]/.test(e) ? `(${e})` : e, dims[k]);
    e = sum(inner, idx[k]);
  }
  return e;
}

/** A float literal that C reads back as exactly the same float32 value. */
export function floatLiteral(v: number): string {
  if (Number.isNaN(v)) return '(0.0f / 0.0f)';
  if (!Number.isFinite(v)) return v > 0 ? 'HUGE_VALF' : '-HUGE_VALF';
  if (Object.is(v, -0)) return '-0.0f';
  const f = Math.fround(v);
  // The shortest decimal that reads back as this float32 (at most 9 significant digits are needed).
  let s = String(f);
  for (let p = 1; p <= 9; p++) {
    const t = f.toPrecision(p);
    if (Math.fround(Number(t)) === f) {
      s = String(Number(t));
      break;
    }
  }
  if (!/[.e]/.test(s)) s += '.0';
  return `${s}f`;
}

/** A double literal with the exact value of v. */
export function doubleLiteral(v: number): string {
  let s = String(v);
  if (!/[.e]/.test(s)) s += '.0';
  return s;
}
