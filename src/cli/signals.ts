// How a long-running command stops: SIGINT or SIGTERM (each heard once: a second one ends the
// process the default way), or the caller's AbortSignal (tests, the lab). SIGHUP reloads what a
// command reads from files.

export interface Stop {
  /** Aborts on the first SIGINT, SIGTERM or abort of the caller's signal. */
  readonly signal: AbortSignal;
  /** Resolves when `signal` aborts. */
  readonly stopped: Promise<void>;
  /** Removes the listeners (call it in `finally`). */
  dispose(): void;
}

/** Listens for the end of a long-running command. */
export function onStop(outer?: AbortSignal): Stop {
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  if (outer?.aborted) stop();
  else outer?.addEventListener('abort', stop, { once: true });
  const stopped = new Promise<void>((resolve) => {
    if (ac.signal.aborted) resolve();
    else ac.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  return {
    signal: ac.signal,
    stopped,
    dispose() {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      outer?.removeEventListener('abort', stop);
    },
  };
}

/** Resolves when SIGINT/SIGTERM arrives, `signal` aborts or `extra` calls its `stop`. */
export async function untilStopped(signal?: AbortSignal, extra?: (stop: () => void) => void): Promise<void> {
  const s = onStop(signal);
  const asked = new Promise<void>((resolve) => extra?.(resolve));
  try {
    await Promise.race([s.stopped, asked]);
  } finally {
    s.dispose();
  }
}

/** Calls `reload` on every SIGHUP until the returned function is called. */
export function onHangup(reload: () => void): () => void {
  process.on('SIGHUP', reload);
  return () => void process.off('SIGHUP', reload);
}
