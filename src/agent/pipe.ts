// Bytes between an admitted stream (or its TLS plaintext) and a TCP address inside the customer's
// network, counted both ways, cut when the signal aborts, logged once when it ends.
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Clock } from '../clock/index.ts';
import { parseHostPort } from './config.ts';
import type { AgentMetrics } from './metrics.ts';

export interface PipeOptions {
  clock: Clock;
  metrics: AgentMetrics;
  logger: Logger;
  signal: AbortSignal;
  /** Fields of the "stream served" record (peer, service, user, grant …). */
  record: Record<string, unknown>;
  /** Called once at the end with what was served (JSON-safe). */
  onEnd(r: Record<string, unknown>): void;
}

export function pipeToAddress(front: Duplex, address: string, o: PipeOptions): void {
  const started = o.clock.wallMs();
  const { host, port } = parseHostPort(address);
  // noDelay: small requests (queries, kubectl) must not wait for Nagle's timer on either hop.
  const up = connect({ host, port, allowHalfOpen: true, noDelay: true });
  let upBytes = 0;
  let downBytes = 0;
  front.on('data', (b: Buffer) => (upBytes += b.length));
  up.on('data', (b: Buffer) => (downBytes += b.length));
  let ended = false;
  const end = (why: string, err?: Error): void => {
    if (ended) return;
    ended = true;
    o.signal.removeEventListener('abort', onAbort);
    o.metrics.streamBytes.inc({ direction: 'in' }, upBytes);
    o.metrics.streamBytes.inc({ direction: 'out' }, downBytes);
    const r = {
      ...o.record,
      bytesIn: upBytes,
      bytesOut: downBytes,
      start: new Date(started).toISOString(),
      end: new Date(o.clock.wallMs()).toISOString(),
      why,
      ...(err ? { err: err.message } : {}),
    };
    o.logger.info(r, 'stream served');
    o.onEnd(JSON.parse(JSON.stringify(r)) as Record<string, unknown>);
  };
  const onAbort = () => {
    front.destroy();
    up.destroy();
    end('grant-ended');
  };
  if (o.signal.aborted) return onAbort();
  o.signal.addEventListener('abort', onAbort, { once: true });
  const destroyBoth = (why: string) => (err?: Error | null) => {
    if (err) {
      front.destroy();
      up.destroy();
    }
    end(why, err ?? undefined);
  };
  front.on('error', (err: Error) =>
    // The client closing its side early (STOP_SENDING / reset) is an ordinary end, not a fault.
    destroyBoth(/stopped reading|reset the stream/.test(err.message) ? 'client-closed' : 'client-error')(err),
  );
  up.on('error', destroyBoth('upstream-error'));
  front.pipe(up);
  up.pipe(front);
  up.on('close', () => {
    front.end();
    end('upstream-closed');
  });
  front.on('close', () => {
    up.end();
    end('client-closed');
  });
}
