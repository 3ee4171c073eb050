import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Files that ship beside the TypeScript (Verilog, pcf) stay in src/fpga and are not copied by tsc,
 * so they are found from the package root, which works both from build/src/fpga (Nx, CLI) and from
 * src/fpga (tests under tsx).
 */
let root: string | undefined;

export function packageRoot(): string {
  if (root) return root;
  let dir = __dirname;
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && existsSync(join(dir, 'src', 'fpga'))) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'deepmaker') return (root = dir);
      } catch {
        /* not ours: keep walking up */
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`deepmaker: cannot find the package root above ${__dirname}`);
    dir = up;
  }
}

/** Absolute path of a file under src/fpga (e.g. fpgaAsset('rtl', 'uart_rx.v')). */
export function fpgaAsset(...parts: string[]): string {
  return join(packageRoot(), 'src', 'fpga', ...parts);
}
