/**
 * Two Connections joined in memory, for tests and benchmarks: each datagram is delivered on a later
 * turn of the event loop (setImmediate, in batches), never synchronously, so the two sides never
 * re-enter each other. No loss; `drop` lets a test lose chosen datagrams.
 */
import type { Clock } from '../clock/index.ts';
import { Connection } from './connection.ts';
import type { ConnectionOptions } from './options.ts';

export type PairOptions = Partial<Omit<ConnectionOptions, 'clock' | 'isClient' | 'sendDatagram'>>;

export interface MemoryPair {
  client: Connection;
  server: Connection;
  /** Datagrams waiting for delivery (both directions). */
  readonly queued: number;
  /** When set, datagrams for which it returns true are lost. */
  drop?: (datagram: Uint8Array, toServer: boolean) => boolean;
  /** Stops delivering (pending datagrams are discarded). */
  stop(): void;
}

export function memoryPair(
  clock: Clock,
  opts: { client?: PairOptions; server?: PairOptions; maxDatagramSize?: number } = {},
): MemoryPair {
  const queue: Array<[boolean, Uint8Array]> = [];
  let scheduled = false;
  let stopped = false;
  const deliver = (): void => {
    scheduled = false;
    const batch = queue.splice(0, queue.length);
    for (const [toServer, d] of batch) {
      if (stopped) return;
      if (pair.drop?.(d, toServer)) continue;
      (toServer ? pair.server : pair.client).receiveDatagram(d);
    }
  };
  const send = (toServer: boolean) => (d: Uint8Array) => {
    if (stopped) return;
    queue.push([toServer, d]);
    if (!scheduled) {
      scheduled = true;
      setImmediate(deliver);
    }
  };
  const mds = opts.maxDatagramSize ?? 1200;
  const pair: MemoryPair = {
    client: new Connection({
      clock,
      isClient: true,
      sendDatagram: send(true),
      maxDatagramSize: mds,
      ...opts.client,
    }),
    server: new Connection({
      clock,
      isClient: false,
      sendDatagram: send(false),
      maxDatagramSize: mds,
      ...opts.server,
    }),
    get queued() {
      return queue.length;
    },
    stop() {
      stopped = true;
      queue.length = 0;
    },
  };
  return pair;
}
