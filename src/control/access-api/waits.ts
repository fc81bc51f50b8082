// The two answers that wait: the console's event stream and a request's decision.
import type { FastifyInstance } from 'fastify';
import { ControlError } from '../errors.ts';
import { handle } from '../handle.ts';
import { routes } from '../routes/index.ts';
import { mayView, signedIn, type AccessApiDeps } from './shared.ts';

/** A waiting request re-reads the store at least this often (decisions on other coordinators). */
export const WAIT_RECHECK_MS = 2000;

/**
 * Server-sent events: one `access` event per committed access change in this coordinator, with
 * its topic only (what to reload, never whose or what); a comment line every 25 s keeps proxies
 * from closing the stream. The console reloads on them instead of polling every 5 s.
 */
export function registerEvents(app: FastifyInstance, d: AccessApiDeps): void {
  handle(app, routes.events, signedIn(d), async (req, reply) => {
    const raw = reply.raw;
    const send = (e: { topic: string }) =>
      raw.write(`event: access\ndata: ${JSON.stringify({ topic: e.topic })}\n\n`);
    const off = d.access.events.listen(send);
    if (!off)
      throw new ControlError('BUSY', 'too many event streams open; try again later', { retryable: true });
    reply.hijack();
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    raw.write(`retry: 3000\n: ${req.user!.name}\n\n`);
    let beat = d.clock.setTimeout(function ping() {
      raw.write(': keep-alive\n\n');
      beat = d.clock.setTimeout(ping, 25_000);
    }, 25_000);
    raw.once('close', () => {
      off();
      d.clock.clearTimeout(beat);
    });
  });
}

/**
 * Waits for a decision: wakes on every access change in this coordinator (access-events.ts) and
 * re-reads the store at least every WAIT_RECHECK_MS (a decision made on another coordinator).
 */
export function registerWait(app: FastifyInstance, d: AccessApiDeps): void {
  const { store, access } = d;
  handle(app, routes.requestsWait, signedIn(d), async (req, reply) => {
    const a = await store.accessActor(req.user!.name);
    const timeoutMs = Math.min(60, Math.max(1, Number(req.query.timeout ?? 25))) * 1000;
    const deadline = d.clock.now() + timeoutMs;
    for (;;) {
      const r = await store.getAccessRequest(req.params.id);
      if (!r || !mayView(a, r.requester, r.rules, r.deployment))
        throw new ControlError('NOT_FOUND', `no request ${req.params.id}`);
      const left = deadline - d.clock.now();
      // The client went away: answer nothing more (the response's close, not the request's).
      if (r.status !== 'pending' || left <= 0 || reply.raw.destroyed) return r;
      await new Promise<void>((resolve) => {
        const off = access.events.listen(() => done());
        const t = d.clock.setTimeout(() => done(), Math.min(WAIT_RECHECK_MS, left));
        const onClose = () => done();
        reply.raw.once('close', onClose);
        function done() {
          off?.();
          d.clock.clearTimeout(t);
          reply.raw.off('close', onClose);
          resolve();
        }
      });
    }
  });
}
