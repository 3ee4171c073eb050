/**
 * Resource figures of a synthesized iCE40 netlist, from Yosys's `stat -json` (the cell count per
 * type), with the netlist JSON itself as the fallback and the cross-check: both list the same cells.
 */
import { DeepMakerError } from '../util/errors';

export type CellCounts = Record<string, number>;

export interface SynthResources {
  /** SB_LUT4 cells. */
  luts: number;
  /** Flip-flops (every SB_DFF* variant). */
  ffs: number;
  /** SB_CARRY cells (they share logic cells with LUTs). */
  carry: number;
  /**
   * Logic cells the design needs at least: a logic cell holds one LUT, one flip-flop and one carry,
   * so max(luts, ffs, carry). Placement packs to this or a little more; the bitstream report has
   * nextpnr's exact count.
   */
  logicCells: number;
  /** SB_RAM40_4K block RAMs. */
  ebr: number;
  /** SB_MAC16 DSP blocks. */
  dsp: number;
  /** SB_SPRAM256KA single-port RAMs. */
  spram: number;
  /** SB_IO pads. */
  io: number;
  /** Every cell type and its count, as Yosys reports them. */
  cells: CellCounts;
}

interface StatModule {
  num_cells?: number;
  num_cells_by_type?: CellCounts;
}

interface StatJson {
  modules?: Record<string, StatModule>;
  design?: StatModule;
}

/**
 * Cell counts from `stat -json` output (Yosys 0.23 ... 0.55): the design-wide `design` entry when
 * there is one, else the top module's (after synth_ice40 the design is flattened to one module).
 */
export function cellsFromStatJson(text: string, top: string, file = 'stat.json'): CellCounts {
  let stat: StatJson;
  try {
    // Yosys may print a log line before the JSON when tee captures it; start at the first brace.
    stat = JSON.parse(text.slice(text.indexOf('{'))) as StatJson;
  } catch (e) {
    throw new DeepMakerError(`cannot read Yosys's statistics: ${(e as Error).message}`, { file });
  }
  const byType = stat.design?.num_cells_by_type ?? topModule(stat.modules ?? {}, top)?.num_cells_by_type;
  if (!byType) throw new DeepMakerError(`Yosys's statistics name no cells for module '${top}'`, { file }, 'is the top module name right?');
  return normalizeCounts(byType);
}

function topModule(modules: Record<string, StatModule>, top: string): StatModule | undefined {
  return modules[`\\${top}`] ?? modules[top] ?? (Object.keys(modules).length === 1 ? Object.values(modules)[0] : undefined);
}

/** Yosys JSON netlist (`write_json`): count the top module's cells per type. */
export function cellsFromNetlist(netlist: { modules: Record<string, { cells?: Record<string, { type: string }>; attributes?: Record<string, unknown> }> }, top: string): CellCounts {
  const mod = netlist.modules[top] ?? Object.values(netlist.modules).find((m) => m.attributes && 'top' in m.attributes);
  if (!mod) throw new DeepMakerError(`the netlist has no module '${top}'`);
  const counts: CellCounts = {};
  for (const c of Object.values(mod.cells ?? {})) counts[c.type] = (counts[c.type] ?? 0) + 1;
  return counts;
}

function normalizeCounts(byType: CellCounts): CellCounts {
  const out: CellCounts = {};
  for (const [k, v] of Object.entries(byType)) out[k.replace(/^\\/, '')] = Number(v);
  return out;
}

export function resourcesFromCells(cells: CellCounts): SynthResources {
  let luts = 0,
    ffs = 0,
    carry = 0,
    ebr = 0,
    dsp = 0,
    spram = 0,
    io = 0;
  for (const [type, n] of Object.entries(cells)) {
    if (type === 'SB_LUT4') luts += n;
    else if (type.startsWith('SB_DFF')) ffs += n;
    else if (type === 'SB_CARRY') carry += n;
    else if (type.startsWith('SB_RAM40_4K')) ebr += n;
    else if (type === 'SB_MAC16') dsp += n;
    else if (type === 'SB_SPRAM256KA') spram += n;
    else if (type === 'SB_IO' || type === 'SB_IO_OD' || type === 'SB_IO_I3C') io += n;
  }
  return { luts, ffs, carry, logicCells: Math.max(luts, ffs, carry), ebr, dsp, spram, io, cells: { ...cells } };
}
