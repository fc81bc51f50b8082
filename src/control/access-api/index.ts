// The access API under /api/v1 (routes/access.ts): the policy document (administrators),
// requests and their decisions, request-derived grants, extension requests, and client
// certificates for a grant. A refused access event answers with REFUSAL_STATUS[code] and
// `{ error: { code, message, details } }`; the refusal itself is in the audit log (written by the
// store, at most REFUSALS_PER_WINDOW per user per window: refusal-audit.ts).
import type { FastifyInstance } from 'fastify';
import type { AccessApiDeps } from './shared.ts';
import { registerPolicy } from './policy.ts';
import { registerRequests } from './requests.ts';
import { registerEvents, registerWait } from './waits.ts';
import { registerAccessGrants } from './grants.ts';
import { registerExtensions } from './extensions.ts';
import { registerGrantCertificate } from './certificate.ts';

export type { AccessApiDeps } from './shared.ts';
export { WAIT_RECHECK_MS } from './waits.ts';

export function registerAccessApi(app: FastifyInstance, d: AccessApiDeps): void {
  registerPolicy(app, d);
  registerRequests(app, d);
  registerEvents(app, d);
  registerWait(app, d);
  registerAccessGrants(app, d);
  registerExtensions(app, d);
  registerGrantCertificate(app, d);
}
