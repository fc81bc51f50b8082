// The management path of a deployment in the coordinator (src/control/management-api.ts): modes
// that could not be enforced are refused, a break-glass is refused unless the mode allows it, and
// when it is allowed it is audited with who and why and sent to the customer's webhook (and the
// vendor's), the answer carrying the public endpoint.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiClient, routes, type BodyOf } from '../../src/control/index.ts';
import { startFixture, type Fixture } from './fixture.ts';

interface Hook {
  server: Server;
  url: string;
  bodies: { text: string }[];
}

function receiver(): Promise<Hook> {
  const hook: Hook = { server: undefined as unknown as Server, url: '', bodies: [] };
  hook.server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hook.bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as { text: string });
      res.writeHead(200).end('ok');
    });
  });
  return new Promise((resolve) =>
    hook.server.listen(0, '127.0.0.1', () => {
      hook.url = `http://127.0.0.1:${(hook.server.address() as AddressInfo).port}/hook`;
      resolve(hook);
    }),
  );
}

const status = async (p: Promise<unknown>): Promise<{ status?: number; code?: string; message: string }> => {
  try {
    await p;
    return { message: 'no error' };
  } catch (e) {
    return e as { status?: number; code?: string; message: string };
  }
};

describe('management path', () => {
  let f: Fixture;
  let vendor: Hook;
  let customer: Hook;
  let bob: ApiClient;
  before(async () => {
    vendor = await receiver();
    customer = await receiver();
    f = await startFixture({ webhooks: [vendor.url] });
    await f.admin.route(routes.deploymentsCreate, {
      body: {
        name: 'acme-prod',
        region: 'us-east-1',
        cloud: 'aws',
      },
    });
    await f.admin.route(routes.usersCreate, { body: { name: 'bob', password: 'battery staple' } });
    bob = await f.anon.login('bob', 'battery staple');
  });
  after(async () => {
    await f.stop();
    vendor.server.close();
    customer.server.close();
  });

  test('the default is private; a break-glass there is refused and nothing is sent', async () => {
    const m = await bob.route(routes.managementGet, { params: { name: 'acme-prod' } });
    assert.equal(m.mode, 'private');
    assert.equal(m.publicServer, null);
    const r = await status(
      bob.route(routes.breakGlass, {
        params: { name: 'acme-prod' },
        body: {
          reason: 'INC-1 overlay down',
          service: 'k8s',
          overlay: 'relay unreachable',
        },
      }),
    );
    assert.equal(r.status, 409);
    assert.match(r.message, /management path is private: the public endpoint is never used/);
    assert.equal(vendor.bodies.length + customer.bodies.length, 0);
  });

  test('configurations that could not be enforced are refused', async () => {
    const put = (body: BodyOf<typeof routes.managementPut>) =>
      status(f.admin.route(routes.managementPut, { params: { name: 'acme-prod' }, body }));
    assert.match((await put({ mode: 'public' })).message, /mode public needs publicServer/);
    assert.match(
      (await put({ mode: 'private', publicServer: 'https://k8s.acme.example:6443' })).message,
      /never uses a public endpoint/,
    );
    assert.match(
      (await put({ mode: 'private-with-public-fallback', publicServer: 'https://k8s.acme.example:6443' }))
        .message,
      /needs customerWebhook/,
    );
    assert.match(
      (await put({ mode: 'public', publicServer: 'http://k8s.acme.example:6443' })).message,
      /must be https/,
    );
    assert.equal(
      (
        await status(
          bob.route(routes.managementPut, { params: { name: 'acme-prod' }, body: { mode: 'private' } }),
        )
      ).status,
      403,
    );
  });

  test('private-with-public-fallback: a break-glass is audited with who and why, and the customer is told', async () => {
    await f.admin.route(routes.managementPut, {
      params: { name: 'acme-prod' },
      body: {
        mode: 'private-with-public-fallback',
        publicServer: 'https://k8s.acme.example:6443',
        customerWebhook: customer.url,
      },
    });
    const seen = await bob.route(routes.managementGet, { params: { name: 'acme-prod' } });
    assert.equal(seen.customerWebhook, null, 'only administrators see the customer webhook');
    assert.match(
      (
        await status(
          bob.route(routes.breakGlass, {
            params: { name: 'acme-prod' },
            body: {
              reason: 'short',
              service: 'k8s',
              overlay: 'x',
            },
          }),
        )
      ).message,
      /reason/,
    );
    const r = await bob.route(routes.breakGlass, {
      params: { name: 'acme-prod' },
      body: {
        reason: 'INC-4711: connector unreachable, pods crash-looping',
        service: 'k8s',
        overlay: 'no connector for acme-prod in the netmap',
      },
    });
    assert.equal(r.publicServer, 'https://k8s.acme.example:6443');
    const audit = await f.admin.route(routes.auditList, { query: { limit: 10000 } });
    const bg = audit.filter((a) => a.action === 'mgmt.break-glass');
    assert.equal(bg.length, 1);
    assert.equal(bg[0].actor, 'user:bob');
    assert.equal(bg[0].details.reason, 'INC-4711: connector unreachable, pods crash-looping');
    assert.equal(bg[0].details.overlay, 'no connector for acme-prod in the netmap');
    assert.ok(audit.some((a) => a.action === 'deployment.management'));
    for (let i = 0; i < 50 && (customer.bodies.length === 0 || vendor.bodies.length === 0); i++)
      await new Promise((res) => setTimeout(res, 100));
    for (const h of [customer, vendor]) {
      assert.equal(h.bodies.length, 1);
      assert.match(
        h.bodies[0].text,
        /Break-glass: public management endpoint used: bob used the public management endpoint of acme-prod \(k8s\)/,
      );
      assert.match(h.bodies[0].text, /Reason: INC-4711/);
    }
  });

  test('public: no break-glass is needed, and none is recorded', async () => {
    await f.admin.route(routes.managementPut, {
      params: { name: 'acme-prod' },
      body: {
        mode: 'public',
        publicServer: 'https://k8s.acme.example:6443',
      },
    });
    const r = await status(
      bob.route(routes.breakGlass, {
        params: { name: 'acme-prod' },
        body: {
          reason: 'INC-2 nothing wrong',
          service: 'k8s',
          overlay: 'n/a',
        },
      }),
    );
    assert.equal(r.status, 409);
    assert.match(r.message, /managed over its public endpoint: no break-glass is needed/);
  });
});
