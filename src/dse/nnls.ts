/**
 * Non-negative least squares (Lawson & Hanson, "Solving Least Squares Problems", 1974, ch. 23):
 * minimise ||A x − b||₂ subject to x ≥ 0. The resource predictor's coefficients are costs (LUTs per
 * register bit, per multiplier bit...), which cannot be negative; NNLS keeps the fit physical and
 * drops features the data do not support (their coefficient stays 0).
 */

/** Solves the unconstrained least-squares problem on the columns in `cols` (normal equations, Cholesky with a tiny ridge). */
function solveSubset(A: number[][], b: number[], cols: number[]): number[] {
  const k = cols.length;
  const G = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const r = new Array<number>(k).fill(0);
  for (let i = 0; i < A.length; i++) {
    const row = A[i];
    for (let p = 0; p < k; p++) {
      const ap = row[cols[p]];
      if (ap === 0) continue;
      r[p] += ap * b[i];
      for (let q = 0; q < k; q++) G[p][q] += ap * row[cols[q]];
    }
  }
  // Ridge relative to the diagonal keeps nearly collinear features solvable.
  for (let p = 0; p < k; p++) G[p][p] += 1e-9 * (G[p][p] || 1);
  // Cholesky G = L Lᵀ.
  const L = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < k; i++) {
    for (let j = 0; j <= i; j++) {
      let s = G[i][j];
      for (let m = 0; m < j; m++) s -= L[i][m] * L[j][m];
      if (i === j) L[i][i] = Math.sqrt(Math.max(s, 1e-300));
      else L[i][j] = s / L[j][j];
    }
  }
  const y = new Array<number>(k).fill(0);
  for (let i = 0; i < k; i++) {
    let s = r[i];
    for (let m = 0; m < i; m++) s -= L[i][m] * y[m];
    y[i] = s / L[i][i];
  }
  const x = new Array<number>(k).fill(0);
  for (let i = k - 1; i >= 0; i--) {
    let s = y[i];
    for (let m = i + 1; m < k; m++) s -= L[m][i] * x[m];
    x[i] = s / L[i][i];
  }
  return x;
}

export function nnls(A: number[][], b: number[], maxIterations = 500): number[] {
  const n = A[0]?.length ?? 0;
  const x = new Array<number>(n).fill(0);
  const passive = new Set<number>();
  const gradient = () => {
    const w = new Array<number>(n).fill(0);
    for (let i = 0; i < A.length; i++) {
      let res = b[i];
      for (let j = 0; j < n; j++) res -= A[i][j] * x[j];
      for (let j = 0; j < n; j++) w[j] += A[i][j] * res;
    }
    return w;
  };
  const tol = 1e-10 * Math.max(1, ...b.map(Math.abs));
  for (let it = 0; it < maxIterations; it++) {
    const w = gradient();
    let best = -1;
    let bestW = tol;
    for (let j = 0; j < n; j++) if (!passive.has(j) && w[j] > bestW) {
      best = j;
      bestW = w[j];
    }
    if (best < 0) break;
    passive.add(best);
    for (let inner = 0; inner < maxIterations; inner++) {
      const cols = [...passive].sort((a, c) => a - c);
      const z = solveSubset(A, b, cols);
      if (z.every((v) => v > 0)) {
        for (let j = 0; j < n; j++) x[j] = 0;
        cols.forEach((c, i) => (x[c] = z[i]));
        break;
      }
      // Step from x toward z as far as feasibility allows, then drop the columns that hit zero.
      let alpha = Infinity;
      cols.forEach((c, i) => {
        if (z[i] <= 0) alpha = Math.min(alpha, x[c] / (x[c] - z[i]));
      });
      cols.forEach((c, i) => (x[c] += alpha * (z[i] - x[c])));
      for (const c of cols) if (x[c] <= 1e-12) {
        x[c] = 0;
        passive.delete(c);
      }
    }
  }
  return x;
}
