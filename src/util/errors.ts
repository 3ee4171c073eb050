/**
 * The one error type a user sees. It names where the problem is (file, and line/column or a
 * layer) and says what to do. Stage runners print `message` as is and exit non-zero.
 */
export interface ErrorLocation {
  file?: string;
  line?: number;
  column?: number;
  /** A model layer, a YAML key path, a dataset record... whatever locates the problem best. */
  where?: string;
}

export class DeepMakerError extends Error {
  readonly location: ErrorLocation;
  readonly hint?: string;
  /** The problem alone, without the location and the hint. */
  readonly problem: string;
  constructor(problem: string, location: ErrorLocation = {}, hint?: string) {
    super(formatError(problem, location, hint));
    this.name = 'DeepMakerError';
    this.location = location;
    this.hint = hint;
    this.problem = problem;
  }
}

/**
 * `e` with `file` as its location when it names no file (a check deep in a model's layers knows
 * the layer, its caller the file); anything else unchanged.
 */
export function inFile(e: unknown, file: string): unknown {
  if (e instanceof DeepMakerError && !e.location.file) return new DeepMakerError(e.problem, { ...e.location, file }, e.hint);
  return e;
}

export function formatError(problem: string, loc: ErrorLocation, hint?: string): string {
  let where = '';
  if (loc.file) {
    where = loc.file;
    if (loc.line !== undefined) where += `:${loc.line}` + (loc.column !== undefined ? `:${loc.column}` : '');
  }
  if (loc.where) where = where ? `${where} (${loc.where})` : loc.where;
  return (where ? `${where}: ` : '') + problem + (hint ? `\n  hint: ${hint}` : '');
}

export function isDeepMakerError(e: unknown): e is DeepMakerError {
  return e instanceof Error && e.name === 'DeepMakerError';
}
