// The console's audit routes: the chain's verification state (administrators) and the whole log
// as a download, verifiable offline (sallyport audit verify FILE --trust-key KEY).
import type { FastifyInstance } from 'fastify';
import { ControlError } from '../errors.ts';
import { handle } from '../handle.ts';
import { routes } from '../routes/index.ts';
import { SECURITY_HEADERS } from './assets.ts';
import { auditExportLines, checkAudit, customerScope, MAX_CONSOLE_VERIFY } from './audit-check.ts';
import type { ConsoleContext } from './routes.ts';

export function registerConsoleAudit(app: FastifyInstance, c: ConsoleContext): void {
  const { store, auditKey, clock } = c.o;
  handle(app, routes.consoleAudit, {}, async (req, reply) => {
    const { user } = await c.userOf(req);
    if (!user.isAdmin) throw new ControlError('FORBIDDEN', 'the audit log needs an administrator');
    void reply.header('cache-control', 'no-store');
    return checkAudit(store, auditKey, clock);
  });
  handle(app, routes.consoleAuditExport, {}, async (req, reply) => {
    const { user } = await c.userOf(req);
    // A customer's person gets its scope in full and the rest elided (still verifiable).
    const a = await store.accessActor(user.name);
    if (!user.isAdmin && !a.customerOf)
      throw new ControlError('FORBIDDEN', 'the audit log needs an administrator');
    const shown = a.customerOf ? await customerScope(store, a.customerOf, a.customer ?? null) : undefined;
    const head = await store.auditHead();
    if (head.seq > MAX_CONSOLE_VERIFY)
      throw new ControlError('BUSY', "the log is too large for the console: use 'sallyport audit export'");
    const at = c.now();
    const lines = await auditExportLines(store, auditKey, at, shown);
    void reply
      .headers(SECURITY_HEADERS)
      .header('cache-control', 'no-store')
      .header('content-type', 'application/jsonl; charset=utf-8')
      .header('content-disposition', `attachment; filename="${exportName(at)}"`);
    return lines.map((l) => `${l}\n`).join('');
  });
}

/** The download name of an export made at `ms`. */
const exportName = (ms: number): string =>
  `sallyport-audit-${new Date(ms)
    .toISOString()
    .replace(/[:.]/g, '-')
    .replace(/-\d{3}Z$/, 'Z')}.jsonl`;
