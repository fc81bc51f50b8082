// A TCP proxy on loopback that holds every chunk for `delayMs` in each direction, order kept: a
// distant relay, seen from one agent only (tc netem is not available everywhere tests run). With
// `retarget` it is also a movable address, as a cloud database's endpoint is moved to the new
// primary after a failover: open connections are cut, new ones go to the new target.
// Test-only; not a production component.
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface DelayProxy {
  port: number;
  /** New connections go to this port; the open ones are cut. */
  retarget(port: number): void;
  close(): Promise<void>;
}

function delayed(from: Socket, to: Socket, delayMs: number): void {
  from.on('data', (b: Buffer) => {
    setTimeout(() => {
      if (!to.destroyed) to.write(b);
    }, delayMs);
  });
  from.on('end', () => setTimeout(() => to.end(), delayMs));
  from.on('error', () => to.destroy());
  from.on('close', () => setTimeout(() => to.destroy(), delayMs + 1));
}

export async function startDelayProxy(targetPort: number, delayMs: number): Promise<DelayProxy> {
  const sockets = new Set<Socket>();
  let target = targetPort;
  const server: Server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    delayed(client, upstream, delayMs);
    delayed(upstream, client, delayMs);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    retarget: (port) => {
      target = port;
      for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
