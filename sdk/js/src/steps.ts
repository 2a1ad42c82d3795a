// Steps: step.run(id, fn) runs fn once per run. Outputs recorded by earlier attempts come with the job and are
// returned without calling fn again; new outputs go back with the result, stored ones first.
export class Steps {
  readonly #done = new Map<string, unknown>();
  readonly #order: string[] = [];

  constructor(stored: unknown) {
    if (!Array.isArray(stored)) return;
    for (const s of stored) {
      if (s && typeof s === "object" && typeof (s as { id?: unknown }).id === "string" && (s as { id: string }).id) {
        const { id, output } = s as { id: string; output?: unknown };
        if (!this.#done.has(id)) this.#order.push(id);
        this.#done.set(id, output ?? null);
      }
    }
  }

  /** Memoized across attempts by `id`. A throwing fn records nothing. */
  async run<T>(id: string, fn: () => T | Promise<T>): Promise<T> {
    if (typeof id !== "string" || id.length === 0 || id.length > 256) {
      throw new Error("step id must be a non-empty string of at most 256 characters");
    }
    if (this.#done.has(id)) return this.#done.get(id) as T;
    const value = await fn();
    // What the server stores: JSON (undefined → null).
    const output = value === undefined ? null : (JSON.parse(JSON.stringify(value)) as unknown);
    this.#done.set(id, output);
    this.#order.push(id);
    return value;
  }

  /** Every completed step, in order, for the result. */
  recorded(): Array<{ id: string; output: unknown }> {
    return this.#order.map((id) => ({ id, output: this.#done.get(id) }));
  }
}
