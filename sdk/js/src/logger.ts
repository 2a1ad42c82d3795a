// Logger: the `logger` of a handler's context. Formats like console.log and replaces every delivered secret value
// with [REDACTED:NAME] before anything is written.
import { format } from "node:util";

import { redact } from "./secrets.js";

export interface Logger {
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

/** Where formatted, redacted lines go (default: console). */
export type LogSink = (level: "debug" | "info" | "warn" | "error", line: string) => void;

export const consoleSink: LogSink = (level, line) => {
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
};

export function redactingLogger(prefix: string, pairs: () => Array<[string, string]>, sink: LogSink = consoleSink): Logger {
  const emit = (level: "debug" | "info" | "warn" | "error", args: unknown[]) =>
    sink(level, `${prefix}${redact(format(...args), pairs())}`);
  return {
    debug: (...a) => emit("debug", a),
    info: (...a) => emit("info", a),
    warn: (...a) => emit("warn", a),
    error: (...a) => emit("error", a),
  };
}
