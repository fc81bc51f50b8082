// Pieces shared by the agent's commands (agent, login, connect, status).
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The state directory: --state, else $SALLYPORT_STATE, else ~/.sallyport. */
export function stateDir(flag: string | undefined): string {
  return flag ?? process.env.SALLYPORT_STATE ?? join(homedir(), '.sallyport');
}

/** Resolves when SIGINT/SIGTERM arrives or `signal` aborts. */
export function untilStopped(signal?: AbortSignal, extra?: (stop: () => void) => void): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    if (signal?.aborted) done();
    signal?.addEventListener('abort', done, { once: true });
    extra?.(done);
  });
}
