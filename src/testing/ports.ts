// Loopback ports and waits for test servers (test-only).
import { createServer } from 'node:net';

/** A TCP port free on 127.0.0.1 now (the OS picks it; another process may take it later). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** A timer that does not keep the process alive. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());
