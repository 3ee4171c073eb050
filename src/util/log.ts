/** Progress output for long work. Stages print one line per event; nothing is rewritten in place, so CI logs stay readable. */
export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
}

export function consoleLogger(prefix: string): Logger {
  return {
    info: (msg) => process.stdout.write(`[${prefix}] ${msg}\n`),
    warn: (msg) => process.stderr.write(`[${prefix}] warning: ${msg}\n`),
  };
}

export const silentLogger: Logger = { info: () => undefined, warn: () => undefined };
