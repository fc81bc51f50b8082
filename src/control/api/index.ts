// The admin HTTP API under /api/v1 (Fastify): every route is declared with its JSON schema in
// routes/; bodies with unknown or malformed fields are refused with 400 before any handler runs,
// so nothing is written. Auth: `Authorization: Bearer <token>` from POST /api/v1/login; admin
// routes need an admin user.
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from './deps.ts';
import { registerSessionRoutes } from './session.ts';
import { registerDeployments, registerServices } from './catalog.ts';
import { registerNodes, registerPreauthKeys } from './enrollment.ts';
import { registerDeviceLogin } from './device.ts';
import { registerGroups, registerUsers } from './identity.ts';
import { registerStandingGrants } from './grants.ts';
import { registerAudit } from './audit.ts';

export type { ApiDeps } from './deps.ts';

export function registerApi(app: FastifyInstance, d: ApiDeps): void {
  registerSessionRoutes(app, d);
  registerDeployments(app, d);
  registerServices(app, d);
  registerPreauthKeys(app, d);
  registerUsers(app, d);
  registerGroups(app, d);
  registerStandingGrants(app, d);
  registerNodes(app, d);
  registerDeviceLogin(app, d);
  registerAudit(app, d);
}
