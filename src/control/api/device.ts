// Device login (engineers' machines). Unauthenticated up to the approval: the caller proves it
// holds the node key (a MAC over a fresh challenge, keyed by X25519 with the coordinator's channel
// key: src/proto/control/device-proof.ts); a signed-in user approves the code it shows.
import type { FastifyInstance } from 'fastify';
import { CHALLENGE_TTL_MS } from '../device-login.ts';
import { handle } from '../handle.ts';
import { routes } from '../routes/index.ts';
import type { ApiDeps } from './deps.ts';
import { namesOf, nodeView } from './views.ts';

export function registerDeviceLogin(app: FastifyInstance, d: ApiDeps): void {
  const { store, hub } = d;
  const signedIn = { preHandler: d.auth.preHandler(false) };

  handle(app, routes.deviceChallenge, {}, async (_req, reply) => {
    void reply.header('cache-control', 'no-store');
    return { challenge: d.deviceGuard.challenge(), expiresIn: CHALLENGE_TTL_MS / 1000 };
  });
  handle(app, routes.deviceStart, {}, async (req, reply) => {
    const wait = d.deviceGuard.waitMs(req.ip);
    if (wait > 0) {
      const s = Math.ceil(wait / 1000);
      return reply
        .code(429)
        .header('retry-after', String(s))
        .send({
          error: {
            code: 'RATE_LIMITED',
            message: `too many device logins started from this address: try again in ${s} s`,
          },
        });
    }
    d.deviceGuard.checkProof({
      nodeKey: req.body.nodeKey,
      name: req.body.name ?? '',
      challenge: req.body.challenge,
      proof: req.body.proof,
    });
    const r = await store.startDeviceLogin({
      nodeKey: req.body.nodeKey,
      name: req.body.name ?? 'device',
      ttlMs: d.deviceCodeTtlMs,
    });
    d.deviceGuard.started(req.ip);
    return {
      deviceCode: r.deviceCode,
      userCode: r.userCode,
      verificationUri: d.verificationUri,
      expiresIn: Math.round(d.deviceCodeTtlMs / 1000),
    };
  });
  handle(app, routes.deviceApprove, signedIn, async (req) => {
    const code = req.body.userCode.toUpperCase().replace(/^([A-Z]{4})-?([A-Z]{4})$/, '$1-$2');
    const n = await store.approveDeviceLogin(req.user!, code);
    await hub.changed({ type: 'node', node: n, previousPeers: [] });
    return nodeView(hub, n, await namesOf(store));
  });
  handle(app, routes.devicePoll, {}, async (req) => {
    const r = await store.pollDeviceLogin(req.body.deviceCode);
    return r.node
      ? { status: r.status, node: nodeView(hub, r.node, await namesOf(store)) }
      : { status: r.status };
  });
}
