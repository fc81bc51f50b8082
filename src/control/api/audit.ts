// The audit log (administrators).
import type { FastifyInstance } from 'fastify';
import { handle } from '../handle.ts';
import { routes } from '../routes/index.ts';
import type { ApiDeps } from './deps.ts';

export function registerAudit(app: FastifyInstance, d: ApiDeps): void {
  const { store } = d;
  const admin = { preHandler: d.auth.preHandler(true) };

  handle(app, routes.auditList, admin, (req) =>
    store.listAudit({ afterSeq: Number(req.query.after ?? 0), limit: Number(req.query.limit ?? 1000) }),
  );
  // Signs the head first (an export's records then end under a signature), then lists every
  // checkpoint and every key that signed one, the current audit key first.
  handle(app, routes.auditCheckpoints, admin, async () => {
    await store.signAuditHead();
    const stored = await store.listAuditCheckpoints();
    const keys = [...new Set([d.auditKey, ...stored.map((c) => c.publicKey)])];
    const checkpoints = stored.map(({ seq, hash, time, keyId, signature }) => ({
      seq,
      hash,
      time,
      keyId,
      signature,
    }));
    return { keys, checkpoints };
  });
}
