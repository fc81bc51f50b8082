// Many connected nodes: a grant change recomputes only the nodes it concerns, however many are
// connected (no whole-network netmap per change). Default 40 connectors + 40 engineers;
// SALLYPORT_FULL=1 runs 500 + 500.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startFixture, newKey, netmapWhere } from './fixture.ts';
import { fullRun } from '../../src/testing/require.ts';
import { routes, type ControlClient } from '../../src/control/index.ts';

const N = fullRun ? 500 : 40;

test(
  `${N} connectors and ${N} engineers: one grant recomputes two netmaps`,
  { timeout: 300_000 },
  async () => {
    const f = await startFixture();
    try {
      const a = f.admin;
      const key = async (b: object) =>
        (await a.route(routes.preauthKeysCreate, { body: { ...b, reusable: true } })).key;
      const conns: ControlClient[] = [];
      const engs: ControlClient[] = [];
      for (let i = 0; i < N; i++)
        await a.route(routes.deploymentsCreate, { body: { name: `d${i}`, region: 'r1', cloud: 'aws' } });
      for (let i = 0; i < N; i++)
        await a.route(routes.usersCreate, { body: { name: `u${i}`, password: 'long password' } });
      const t0 = performance.now();
      for (let i = 0; i < N; i++) {
        conns.push(
          await f.connect(newKey(), {
            version: 1,
            kind: 'connector',
            name: `c${i}`,
            preauthKey: await key({ deployment: `d${i}` }),
            services: [{ name: 'k8s', kind: 'kubernetes', address: '10.0.0.1:6443' }],
          }),
        );
        engs.push(
          await f.connect(newKey(), {
            version: 1,
            kind: 'engineer',
            name: `e${i}`,
            preauthKey: await key({ user: `u${i}` }),
          }),
        );
      }
      const connectMs = performance.now() - t0;
      assert.equal(f.coord.hub.size, 2 * N);
      const before = f.coord.hub.computations;
      const t1 = performance.now();
      await a.route(routes.grantsCreate, {
        body: {
          subject: { type: 'user', name: `u${N - 1}` },
          deployment: 'd0',
          services: ['k8s'],
        },
      });
      const grantMs = performance.now() - t1;
      await netmapWhere(
        engs[N - 1],
        (m) => m.peers.length === 1 && m.peers[0].key === conns[0].netmap!.self.key,
      );
      await netmapWhere(conns[0], (m) => m.peers.length === 1);
      assert.equal(f.coord.hub.computations - before, 2);
      for (let i = 1; i < N; i++) assert.equal(conns[i].netmap!.peers.length, 0);
      process.stderr.write(
        `${2 * N} agents connected in ${connectMs.toFixed(0)} ms; grant + push ${grantMs.toFixed(1)} ms\n`,
      );
    } finally {
      await f.stop();
    }
  },
);
