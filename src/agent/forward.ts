// Local forwards (`sallyport connect DEPLOYMENT/SERVICE --local 127.0.0.1:PORT`): a TCP listener on
// a local address whose every connection becomes one stream to the service.
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { splice } from './socks.ts';
import { listenOn } from './listen.ts';

export class LocalForward {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  connections = 0;

  constructor(
    readonly service: string,
    open: () => Duplex | undefined,
  ) {
    this.#server = createServer({ allowHalfOpen: true, noDelay: true }, (s) => {
      this.connections++;
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
      s.on('error', () => s.destroy());
      const t = open();
      if (!t) return void s.destroy();
      splice(s, t);
    });
  }

  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    return listenOn(this.#server, host, port);
  }

  close(): void {
    this.#server.close();
    for (const s of this.#sockets) s.destroy();
  }
}
