// Secrets: the declared secrets one attempt received. get() of an undeclared name is an error; every way of
// printing the object (JSON.stringify, String, util.inspect, console.log) shows names only.
//
// JavaScript strings cannot be wiped: the SDK keeps values in one private map, clears it when the handler
// returns, and zero-fills the job's raw bytes once parsed, so nothing of the SDK's holds a value afterwards.
import { inspect } from "node:util";

import { SecretNotDeclaredError, SecretNotSetError } from "./errors.js";

export class Secrets {
  readonly #functionId: string;
  readonly #declared: readonly string[];
  readonly #values = new Map<string, string>();

  constructor(functionId: string, declared: readonly string[], delivered: Record<string, unknown> | undefined) {
    this.#functionId = functionId;
    this.#declared = [...declared];
    for (const name of declared) {
      const v = delivered?.[name];
      if (typeof v === "string") this.#values.set(name, v);
    }
  }

  /** The value of a declared secret. Throws SecretNotDeclaredError / SecretNotSetError. */
  get(name: string): string {
    if (!this.#declared.includes(name)) throw new SecretNotDeclaredError(name, this.#functionId, this.#declared);
    const v = this.#values.get(name);
    if (v === undefined) throw new SecretNotSetError(name, this.#functionId);
    return v;
  }

  /** True when a declared secret was delivered. */
  has(name: string): boolean {
    return this.#values.has(name);
  }

  /** The declared names. */
  names(): string[] {
    return [...this.#declared];
  }

  /** For the logger's redaction: [name, value] pairs (values of 4+ characters, longest first). */
  redactions(): Array<[string, string]> {
    return [...this.#values.entries()].filter(([, v]) => v.length >= 4).sort((a, b) => b[1].length - a[1].length);
  }

  /** Drops every value (called when the handler returns). */
  clear(): void {
    this.#values.clear();
  }

  toJSON(): { secrets: string[] } {
    return { secrets: this.names() };
  }

  toString(): string {
    return `Secrets(${this.#declared.join(", ")})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/** Replaces each value of `pairs` in `text` with [REDACTED:NAME]. */
export function redact(text: string, pairs: Array<[string, string]>): string {
  let out = text;
  for (const [name, value] of pairs) out = out.split(value).join(`[REDACTED:${name}]`);
  return out;
}
