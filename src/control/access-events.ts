// Live access events in this coordinator: every committed access change (a request filed, decided,
// expired; a grant started, extended, ended) is told to whoever listens — `request --wait` and the
// console's event stream — so they answer at once instead of polling. Only this process's
// changes: behind several coordinators, listeners re-read the store now and then as well.
export interface AccessEvent {
  /** request | extension | grant | decision | grant-start | grant-end (the notice's topic). */
  topic: string;
  /** `request:ID`, `extension:ID`, `grant:ID`. */
  subject: string;
  at: number;
}

/** Most listeners at once (each a waiting request or an open event stream). */
export const MAX_LISTENERS = 10_000;

export class AccessEvents {
  readonly #listeners = new Set<(e: AccessEvent) => void>();

  get size(): number {
    return this.#listeners.size;
  }

  /** Calls `fn` for each event until the returned function is called; undefined when full. */
  listen(fn: (e: AccessEvent) => void): (() => void) | undefined {
    if (this.#listeners.size >= MAX_LISTENERS) return undefined;
    this.#listeners.add(fn);
    return () => void this.#listeners.delete(fn);
  }

  emit(e: AccessEvent): void {
    for (const fn of [...this.#listeners]) {
      try {
        fn(e);
      } catch {
        // A listener's failure is its own.
      }
    }
  }
}
