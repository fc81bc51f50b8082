// A client certificate for the caller's own live grant: the key is made on the caller's machine
// (I9), the certificate ends with the grant. Every refusal is audited.
import type { FastifyInstance } from 'fastify';
import { grantLive } from '../../access/index.ts';
import { PkiError } from '../../pki/index.ts';
import { handle } from '../handle.ts';
import { issueGrantCert } from '../pki.ts';
import { routes } from '../routes/index.ts';
import { signedIn, type AccessApiDeps } from './shared.ts';

export function registerGrantCertificate(app: FastifyInstance, d: AccessApiDeps): void {
  const { store } = d;
  handle(app, routes.accessGrantsCertificate, signedIn(d), async (req, reply) => {
    const user = req.user!.name;
    const actor = `user:${user}`;
    const subject = `grant:${req.params.id}`;
    const refuse = async (status: number, code: string, message: string) => {
      await store.recordRefusal({
        actor,
        action: 'access.refuse',
        subject,
        details: { attempted: 'certificate.client', code, reason: message },
      });
      return reply.code(status).send({ error: { code, message } });
    };
    const g = await store.getAccessGrant(req.params.id);
    const now = Math.floor(d.clock.wallMs());
    if (!g || g.subject !== user) return refuse(404, 'NOT_FOUND', `you hold no grant ${req.params.id}`);
    if (!grantLive(g, now)) return refuse(409, 'GRANT_NOT_ACTIVE', `grant ${g.id} is no longer active`);
    let cert;
    try {
      cert = await issueGrantCert(d.pki, {
        csrPem: req.body.csr,
        user,
        grantId: g.id,
        grantEnd: g.end,
        nodeExpiresAt: g.end,
        clock: d.clock,
      });
    } catch (e) {
      if (e instanceof PkiError) return refuse(400, 'BAD_CSR', `${e.code}: ${e.message}`);
      throw e;
    }
    await store.recordAudit(actor, {
      action: 'certificate.client',
      subject: `sallyport:grant:${g.id}`,
      details: { serial: cert.serial, notAfter: cert.notAfterMs },
    });
    return {
      grant: g.id,
      serial: cert.serial,
      notAfter: cert.notAfterMs,
      chainPem: cert.chainPem,
      rootPem: d.pki.root.certPem,
    };
  });
}
