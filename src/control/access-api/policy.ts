// The access policy document (administrators): read it, replace it (validated first; refused with
// 400 POLICY_INVALID and its issues).
import type { FastifyInstance } from 'fastify';
import { ControlError } from '../errors.ts';
import { handle } from '../handle.ts';
import { routes } from '../routes/index.ts';
import type { AccessApiDeps } from './shared.ts';

export function registerPolicy(app: FastifyInstance, d: AccessApiDeps): void {
  const { store } = d;
  const admin = { preHandler: d.auth.preHandler(true) };

  handle(app, routes.policyGet, admin, async () => {
    const p = await store.getPolicy();
    if (!p) throw new ControlError('NOT_FOUND', 'no access policy yet: sallyport admin policy set FILE');
    return p;
  });
  handle(app, routes.policyPut, admin, async (req, reply) => {
    const r = await store.putPolicy(`user:${req.user!.name}`, req.body);
    if (!r.ok)
      return reply.code(400).send({
        error: {
          code: 'POLICY_INVALID',
          message: `the policy document has ${r.issues.length} problem(s): ${r.issues
            .slice(0, 3)
            .map((i) => `${i.path}: ${i.message}`)
            .join('; ')}`,
          issues: r.issues.slice(0, 100),
        },
      });
    d.policyChanged?.();
    return r.policy;
  });
}
