// A recording stub of the Kubernetes API server — NOT a Kubernetes API server (none can run on
// this machine). It answers just enough of the API over HTTPS on 127.0.0.1 for real kubectl:
// discovery (/version, /api, /apis, /api/v1), pods (list, get, watch, delete), secrets and namespaces,
// and records every request it sees (method, path, headers) so tests can assert what reached it
// and what did not. It authenticates its caller by one bearer token (the connector's
// service-account token) and answers anything else with 401, like an API server would.
//
// Used by the kubernetes target's tests and by the lab; it has its own self-signed certificate
// (`caPem`), which the caller trusts as the API server's CA.
import { once } from 'node:events';
import https from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createSelfSigned } from '../../pki/index.ts';

export interface RecordedRequest {
  method: string;
  /** The request target (path and query). */
  path: string;
  headers: IncomingHttpHeaders;
  /** Whether the bearer token was the one the stub accepts. */
  authorized: boolean;
}

export interface K8sStubPod {
  namespace: string;
  name: string;
}

export interface K8sStubOptions {
  /** The only bearer token accepted. */
  token: string;
  /** Pods to list; default two in "default". */
  pods?: K8sStubPod[];
  /** Most requests remembered (oldest dropped); default 10 000. */
  maxRecorded?: number;
}

export interface K8sStub {
  port: number;
  url: string;
  /** The stub's self-signed certificate: trust it as the API server's CA. */
  caPem: string;
  requests: RecordedRequest[];
  /** Sends an event to every open pod watch. */
  emitPodEvent(type: 'ADDED' | 'MODIFIED' | 'DELETED', pod: K8sStubPod): void;
  stop(): Promise<void>;
}

const CREATED = '2026-01-01T00:00:00Z';

const status = (code: number, reason: string, message: string) => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message,
  reason,
  code,
});

const podObject = (p: K8sStubPod) => ({
  kind: 'Pod',
  apiVersion: 'v1',
  metadata: {
    name: p.name,
    namespace: p.namespace,
    uid: `uid-${p.namespace}-${p.name}`,
    creationTimestamp: CREATED,
  },
  spec: { containers: [{ name: 'main', image: 'registry.example/app:1', ports: [{ containerPort: 8080 }] }] },
  status: {
    phase: 'Running',
    containerStatuses: [
      {
        name: 'main',
        ready: true,
        restartCount: 0,
        image: 'registry.example/app:1',
        imageID: '',
        state: { running: { startedAt: CREATED } },
      },
    ],
  },
});

const secretObject = (ns: string, name: string) => ({
  kind: 'Secret',
  apiVersion: 'v1',
  metadata: { name, namespace: ns, creationTimestamp: CREATED },
  type: 'Opaque',
  data: { password: Buffer.from('stub-secret-value').toString('base64') },
});

const RESOURCES = {
  kind: 'APIResourceList',
  groupVersion: 'v1',
  resources: [
    {
      name: 'namespaces',
      singularName: 'namespace',
      namespaced: false,
      kind: 'Namespace',
      verbs: ['get', 'list', 'watch'],
      shortNames: ['ns'],
    },
    {
      name: 'pods',
      singularName: 'pod',
      namespaced: true,
      kind: 'Pod',
      verbs: ['get', 'list', 'watch'],
      shortNames: ['po'],
    },
    {
      name: 'pods/attach',
      singularName: '',
      namespaced: true,
      kind: 'PodAttachOptions',
      verbs: ['create', 'get'],
    },
    {
      name: 'pods/exec',
      singularName: '',
      namespaced: true,
      kind: 'PodExecOptions',
      verbs: ['create', 'get'],
    },
    { name: 'pods/log', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get'] },
    {
      name: 'pods/portforward',
      singularName: '',
      namespaced: true,
      kind: 'PodPortForwardOptions',
      verbs: ['create', 'get'],
    },
    {
      name: 'secrets',
      singularName: 'secret',
      namespaced: true,
      kind: 'Secret',
      verbs: ['get', 'list', 'watch'],
    },
  ],
};

/** Server-side printing, as kubectl asks for it (Accept: …;as=Table;…). */
function podTable(pods: K8sStubPod[]) {
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion: '1' },
    columnDefinitions: ['Name', 'Ready', 'Status', 'Restarts', 'Age'].map((name) => ({
      name,
      type: 'string',
      format: name === 'Name' ? 'name' : '',
      description: '',
      priority: 0,
    })),
    rows: pods.map((p) => ({
      cells: [p.name, '1/1', 'Running', '0', '1d'],
      object: {
        kind: 'PartialObjectMetadata',
        apiVersion: 'meta.k8s.io/v1',
        metadata: { name: p.name, namespace: p.namespace, creationTimestamp: CREATED },
      },
    })),
  };
}

type Watch = { ns: string | undefined; res: ServerResponse };

const send = (res: ServerResponse, code: number, body: unknown): void => {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
};

/** The answer to a discovery path (/version, /api, /apis, /api/v1, /api/v1/namespaces), or undefined. */
function discovery(path: string, pods: K8sStubPod[]): unknown {
  switch (path) {
    case '/version':
      return { major: '1', minor: '32', gitVersion: 'v1.32.0-sallyport-stub', platform: 'linux/amd64' };
    case '/api':
      return {
        kind: 'APIVersions',
        versions: ['v1'],
        serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1:443' }],
      };
    case '/apis':
      return { kind: 'APIGroupList', apiVersion: 'v1', groups: [] };
    case '/api/v1':
      return RESOURCES;
    case '/api/v1/namespaces':
      return {
        kind: 'NamespaceList',
        apiVersion: 'v1',
        metadata: { resourceVersion: '1' },
        items: [...new Set(pods.map((p) => p.namespace))].map((name) => ({
          kind: 'Namespace',
          apiVersion: 'v1',
          metadata: { name, creationTimestamp: CREATED },
          status: { phase: 'Active' },
        })),
      };
    default:
      return undefined;
  }
}

/** Pods: one (get, its log, delete), or a namespace's or all (list, table, watch). */
function servePods(
  req: IncomingMessage,
  res: ServerResponse,
  s: { pods: K8sStubPod[]; watches: Set<Watch> },
  at: { ns: string | undefined; name: string | undefined; sub: string | undefined; watch: boolean },
): void {
  const { pods, watches } = s;
  const { ns, name, sub } = at;
  const mine = pods.filter((p) => ns === undefined || p.namespace === ns);
  if (name) {
    const p = mine.find((x) => x.name === name);
    if (!p) return send(res, 404, status(404, 'NotFound', `pods "${name}" not found`));
    if (sub === 'log') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      return void res.end(`log line of ${p.name}\n`);
    }
    if (sub) return send(res, 400, status(400, 'BadRequest', `the stub does not serve pods/${sub}`));
    if (req.method === 'DELETE') {
      // Gone at once (no graceful termination): later lists and watches no longer show it.
      pods.splice(pods.indexOf(p), 1);
      for (const w of watches)
        if (w.ns === undefined || w.ns === p.namespace)
          w.res.write(JSON.stringify({ type: 'DELETED', object: podObject(p) }) + '\n');
      return send(res, 200, podObject(p));
    }
    return send(res, 200, podObject(p));
  }
  if (at.watch) {
    res.writeHead(200, { 'content-type': 'application/json' });
    for (const p of mine) res.write(JSON.stringify({ type: 'ADDED', object: podObject(p) }) + '\n');
    const w = { ns, res };
    watches.add(w);
    res.on('close', () => watches.delete(w));
    return;
  }
  if (/as=Table/.test(String(req.headers.accept ?? ''))) return send(res, 200, podTable(mine));
  return send(res, 200, {
    kind: 'PodList',
    apiVersion: 'v1',
    metadata: { resourceVersion: '1' },
    items: mine.map(podObject),
  });
}

/** Records every request, refuses any other token (401), then answers like an API server would. */
function stubHandler(
  o: K8sStubOptions,
  s: { pods: K8sStubPod[]; watches: Set<Watch>; requests: RecordedRequest[]; max: number },
) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const target = req.url ?? '/';
    const authorized = req.headers.authorization === `Bearer ${o.token}`;
    s.requests.push({ method: req.method ?? '', path: target, headers: { ...req.headers }, authorized });
    if (s.requests.length > s.max) s.requests.shift();
    req.resume();
    if (!authorized) return send(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
    const u = new URL(target, 'https://stub');
    const path = u.pathname.replace(/\/$/, '');
    const found = discovery(path, s.pods);
    if (found !== undefined) return send(res, 200, found);
    const m = /^\/api\/v1(?:\/namespaces\/([^/]+))?\/(pods|secrets)(?:\/([^/]+))?(?:\/([^/]+))?$/.exec(path);
    if (!m)
      return send(
        res,
        404,
        status(404, 'NotFound', `the server could not find the requested resource (${path})`),
      );
    const [, ns, resource, name, sub] = m;
    if (resource === 'secrets') {
      if (name) return send(res, 200, secretObject(ns ?? 'default', name));
      return send(res, 200, {
        kind: 'SecretList',
        apiVersion: 'v1',
        metadata: { resourceVersion: '1' },
        items: [secretObject(ns ?? 'default', 'db-password')],
      });
    }
    const watch = u.searchParams.get('watch') === 'true' || u.searchParams.get('watch') === '1';
    servePods(req, res, s, { ns, name, sub, watch });
  };
}

export async function startK8sStub(o: K8sStubOptions): Promise<K8sStub> {
  const pods = [
    ...(o.pods ?? [
      { namespace: 'default', name: 'web-0' },
      { namespace: 'default', name: 'web-1' },
    ]),
  ];
  const tls = await createSelfSigned({
    commonName: 'k8s-stub',
    dnsNames: ['localhost', 'kubernetes.default.svc'],
    ipAddresses: ['127.0.0.1'],
  });
  const requests: RecordedRequest[] = [];
  const watches = new Set<Watch>();
  const sockets = new Set<Socket>();
  const handle = stubHandler(o, { pods, watches, requests, max: o.maxRecorded ?? 10_000 });
  const server = https.createServer({ cert: tls.certPem, key: tls.keyPem }, handle);
  // kubectl exec / port-forward upgrade (SPDY, WebSocket): recorded, then refused like a server without them.
  server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    requests.push({
      method: req.method ?? '',
      path: req.url ?? '',
      headers: { ...req.headers },
      authorized: req.headers.authorization === `Bearer ${o.token}`,
    });
    socket.on('error', () => socket.destroy());
    socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `https://127.0.0.1:${port}`,
    caPem: tls.certPem,
    requests,
    emitPodEvent(type, pod) {
      for (const w of watches)
        if (w.ns === undefined || w.ns === pod.namespace)
          w.res.write(JSON.stringify({ type, object: podObject(pod) }) + '\n');
    },
    async stop() {
      for (const w of watches) w.res.destroy();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
