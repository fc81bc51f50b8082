import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http, { type IncomingHttpHeaders } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { Duplex } from 'node:stream';
import fc from 'fast-check';
import { pino } from 'pino';
import { realClock } from '../../clock/index.ts';
import type { ProxyContext } from '../types.ts';
import { decide } from './policy.ts';
import { ReverseProxy } from './reverse-proxy.ts';
import { impersonationHeaders, kubernetesStatus } from './target.ts';

const seen: { target: string; headers: IncomingHttpHeaders }[] = [];
let upstream: http.Server;
let front: net.Server;
let proxy: ReverseProxy;
const ctx = (signal: AbortSignal): ProxyContext => ({
  grantId: 'g-1',
  user: 'engineer',
  service: 'k8s',
  deployment: 'd',
  notAfter: null,
  access: 'read-only',
  address: '',
  clock: realClock,
  logger: pino({ level: 'silent' }),
  signal,
});

before(async () => {
  upstream = http.createServer((req, res) => {
    seen.push({ target: req.url ?? '', headers: req.headers });
    req.resume();
    res.end('ok');
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  proxy = new ReverseProxy({
    upstream: { protocol: 'http:', host: '127.0.0.1', port: (upstream.address() as AddressInfo).port },
    decide: (r) => decide(r.method, r.target, { access: 'read-only' }, r.headers.upgrade !== undefined),
    headers: (h, c) => impersonationHeaders(h, c, 'tok', ['sallyport:view']),
    render: kubernetesStatus,
  });
  front = net.createServer((s) => proxy.serve(s, ctx(new AbortController().signal)));
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
});

after(async () => {
  await proxy.close();
  front.close();
  upstream.close();
});

const CLOSE = 'GET /api/v1/pods HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';

/** Sends bytes (then a request that closes the connection); resolves with the answer at close. */
function exchange(bytes: string | Uint8Array): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect((front.address() as AddressInfo).port, '127.0.0.1');
    let out = '';
    // Bytes that leave the parser waiting (a body never sent) end by the client giving up.
    const t = setTimeout(() => s.destroy(), 1000);
    s.on('data', (c: Buffer) => (out += c.toString('latin1')));
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(t);
      resolve(out);
    });
    s.write(bytes);
    s.write(CLOSE);
  });
}

test('serves a plain Duplex (not a socket) and answers a refusal as a Kubernetes Status', async () => {
  // A Duplex with no socket methods, as the router's stream may be.
  let answer = '';
  const done = new Promise<void>((r) => {
    const d = new Duplex({
      read() {},
      write(c: Buffer, _e, cb) {
        answer += c.toString();
        cb();
      },
      final(cb) {
        cb();
        r();
      },
    });
    d.on('close', () => r());
    proxy.serve(d, ctx(new AbortController().signal));
    d.push('GET /api/v1/namespaces/default/secrets HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  });
  await done;
  assert.match(answer, /^HTTP\/1.1 403 Forbidden/);
  const status = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
  assert.equal(status.kind, 'Status');
  assert.equal(status.reason, 'Forbidden');
  assert.equal(status.code, 403);
});

test('an aborted context refuses the connection at once', async () => {
  const ac = new AbortController();
  ac.abort();
  const d = new Duplex({ read() {}, write: (_c, _e, cb) => cb() });
  const closed = new Promise<void>((r) => d.on('close', () => r()));
  proxy.serve(d, ctx(ac.signal));
  await closed;
});

const line = fc.oneof(
  fc.constantFrom(
    'GET /api/v1/pods HTTP/1.1',
    'GET /api/v1/namespaces/default/secrets HTTP/1.1',
    'POST /api/v1/namespaces/d/pods/p/exec HTTP/1.1',
    'GET /api/v1/namespaces/default/%73ecrets HTTP/1.1',
    'CONNECT evil:443 HTTP/1.1',
    'GET http://evil/api/v1/secrets HTTP/1.1',
    'GET /api/v1/pods HTTP/1.0',
  ),
  fc.string({ maxLength: 60 }),
);
const header = fc.oneof(
  fc.constantFrom(
    'Host: x',
    'Impersonate-User: admin',
    'Authorization: Bearer stolen',
    'Upgrade: SPDY/3.1',
    'Connection: Upgrade',
    'Transfer-Encoding: chunked',
    'Content-Length: 5',
    'Content-Length: -1',
    'X-Remote-User: root',
  ),
  fc.string({ maxLength: 40 }),
);
const message = fc
  .tuple(
    fc.array(fc.tuple(line, fc.array(header, { maxLength: 6 })), { minLength: 1, maxLength: 3 }),
    fc.string({ maxLength: 20 }),
  )
  .map(([reqs, tail]) => reqs.map(([l, hs]) => [l, ...hs].join('\r\n') + '\r\n\r\n').join('') + tail);

test('property: random and mutated requests never crash; only allowed ones reach upstream, as the engineer', async () => {
  const answers: string[] = [];
  await fc.assert(
    fc.asyncProperty(fc.oneof(message, fc.uint8Array({ maxLength: 300 })), async (bytes) => {
      seen.length = 0;
      const answer = await exchange(bytes);
      answers.push(answer.slice(0, 12));
      for (const s of seen) {
        assert.equal(decide('GET', s.target, { access: 'read-only' }), undefined, s.target);
        assert.equal(s.headers['impersonate-user'], 'sallyport:engineer');
        assert.equal(s.headers.authorization, 'Bearer tok');
        assert.equal(s.headers['x-remote-user'], undefined);
      }
    }),
    {
      numRuns: 150,
      // Always among the runs, whatever the seed: one allowed and one refused request.
      examples: [
        ['GET /api/v1/pods HTTP/1.1\r\nHost: x\r\nImpersonate-User: admin\r\n\r\n'],
        ['GET /api/v1/namespaces/default/secrets HTTP/1.1\r\nHost: x\r\n\r\n'],
      ],
    },
  );
  // Answers did come (200, 400, 403 …): the property was not vacuous.
  assert.ok(answers.filter((a) => a.startsWith('HTTP/1.1 ')).length > 100, 'most exchanges were answered');
  assert.ok(
    answers.some((a) => a.startsWith('HTTP/1.1 200')) && answers.some((a) => a.startsWith('HTTP/1.1 403')),
  );
  // Still serving afterwards.
  const ok = await exchange('');
  assert.match(ok, /^HTTP\/1.1 200/);
});

test('a target that does not answer: 504 after the response timeout, on the context clock', async () => {
  const { FakeClock } = await import('../../clock/index.ts');
  const clock = new FakeClock();
  let arrived!: () => void;
  const reached = new Promise<void>((r) => (arrived = r));
  const hung = http.createServer(() => arrived());
  await new Promise<void>((r) => hung.listen(0, '127.0.0.1', r));
  const p = new ReverseProxy({
    upstream: { protocol: 'http:', host: '127.0.0.1', port: (hung.address() as AddressInfo).port },
    decide: () => undefined,
    headers: (h) => h,
    render: kubernetesStatus,
    responseTimeoutMs: 5000,
  });
  let answer = '';
  const d = new Duplex({
    read() {},
    write(c: Buffer, _e, cb) {
      answer += c.toString();
      cb();
    },
  });
  p.serve(d, { ...ctx(new AbortController().signal), clock });
  d.push('GET /api/v1/pods HTTP/1.1\r\nHost: x\r\n\r\n');
  await reached;
  clock.advance(4999);
  assert.equal(answer, '');
  clock.advance(1);
  for (let i = 0; i < 50 && !answer; i++) await new Promise((r) => setImmediate(r));
  assert.match(answer, /^HTTP\/1.1 504 /);
  assert.equal(p.refused.get('timeout'), 1);
  d.destroy();
  await p.close();
  hung.closeAllConnections();
  hung.close();
});
