// Binds a local TCP server (SOCKS5 proxy, local forward) and resolves with where it listens.
import type { Server } from 'node:net';

export function listenOn(
  server: Server,
  host: string,
  port: number,
): Promise<{ host: string; port: number }> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const a = server.address() as { address: string; port: number };
      resolve({ host: a.address, port: a.port });
    });
  });
}
