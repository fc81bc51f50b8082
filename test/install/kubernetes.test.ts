// The kustomize overlays under deploy/kubernetes/overlays render with `kubectl kustomize` and keep
// their security properties: the connector accepts no ingress (I1), runs non-root on a read-only
// root filesystem with its node key on a volume, and may only impersonate; the vendor side runs
// non-root too. The overlays' config files are accepted by the commands they configure. kubectl
// turns the YAML into JSON offline (`annotate --local -o json`), so no YAML parser is needed.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { needs } from '../../src/testing/require.ts';
import { stderrOf } from './stderr-of.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

function kubectlMissing(): string | undefined {
  const r = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : 'needs kubectl (with its built-in kustomize)';
}

/** The overlay's objects, rendered by kustomize and decoded by kubectl's own types. */
function render(t: TestContext, overlay: string): Obj[] | undefined {
  if (!needs(t, kubectlMissing())) return undefined;
  const k = spawnSync('kubectl', ['kustomize', `deploy/kubernetes/overlays/${overlay}`], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(k.status, 0, k.stderr);
  const j = spawnSync('kubectl', ['annotate', '--local', '-f', '-', 'rendered=1', '-o', 'json'], {
    input: k.stdout,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(j.status, 0, j.stderr);
  return j.stdout
    .split(/^(?=\{)/m)
    .filter((s) => s.trim())
    .map((s) => JSON.parse(s) as Obj);
}

const byKind = (objs: Obj[], kind: string) => objs.filter((o) => o.kind === kind);
const one = (objs: Obj[], kind: string, name?: string) => {
  const found = byKind(objs, kind).filter((o) => name === undefined || o.metadata.name === name);
  assert.equal(found.length, 1, `one ${kind} ${name ?? ''}`);
  return found[0];
};

/** Every pod template's containers: non-root, no privilege escalation, read-only root, no caps. */
function assertLockedDown(workload: Obj): void {
  const pod = workload.spec.template.spec;
  const name = `${workload.kind}/${workload.metadata.name}`;
  assert.equal(pod.securityContext?.runAsNonRoot, true, `${name}: runAsNonRoot`);
  assert.ok(pod.securityContext?.runAsUser > 0, `${name}: a non-zero uid`);
  assert.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault', name);
  assert.notEqual(pod.hostNetwork, true, name);
  for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
    const sc = c.securityContext ?? {};
    assert.equal(sc.readOnlyRootFilesystem, true, `${name}/${c.name}: readOnlyRootFilesystem`);
    assert.equal(sc.allowPrivilegeEscalation, false, `${name}/${c.name}: allowPrivilegeEscalation`);
    assert.notEqual(sc.privileged, true, `${name}/${c.name}`);
    assert.deepEqual(sc.capabilities?.drop, ['ALL'], `${name}/${c.name}: drop ALL`);
    assert.deepEqual(sc.capabilities?.add ?? [], [], `${name}/${c.name}: adds no capability`);
    for (const p of c.ports ?? []) assert.equal(p.hostPort, undefined, `${name}/${c.name}: no hostPort`);
  }
}

test('customer-eks: the connector accepts no ingress, only dials out', (t) => {
  const objs = render(t, 'customer-eks');
  if (!objs) return;
  for (const kind of ['Service', 'Ingress', 'Gateway', 'HTTPRoute'])
    assert.deepEqual(byKind(objs, kind), [], `no ${kind}: nothing listens for connections (I1)`);
  const dep = one(objs, 'Deployment', 'sallyport-connector');
  const np = one(objs, 'NetworkPolicy', 'sallyport-connector');
  assert.deepEqual(np.metadata.namespace, dep.metadata.namespace);
  assert.ok(np.spec.policyTypes.includes('Ingress') && np.spec.policyTypes.includes('Egress'));
  assert.deepEqual(np.spec.ingress ?? [], [], 'no ingress rule: every inbound connection is denied');
  for (const [k, v] of Object.entries(np.spec.podSelector.matchLabels as Record<string, string>))
    assert.equal(dep.spec.template.metadata.labels[k], v, `the policy selects the connector pod (${k})`);
  for (const c of dep.spec.template.spec.containers) assert.deepEqual(c.ports ?? [], [], 'no container port');
});

test('customer-eks: non-root, read-only root, node key on a volume, pre-auth key from a Secret', (t) => {
  const objs = render(t, 'customer-eks');
  if (!objs) return;
  const dep = one(objs, 'Deployment', 'sallyport-connector');
  assertLockedDown(dep);
  assert.equal(dep.spec.replicas, 1);
  assert.equal(dep.spec.strategy.type, 'Recreate', 'never two pods with one node key');
  const pod = dep.spec.template.spec;
  assert.equal(pod.serviceAccountName, 'sallyport-connector');
  const [agent] = pod.containers;
  assert.deepEqual(agent.args.slice(0, 3), ['agent', '--config', '/etc/sallyport/agent.json']);
  const stateDir = agent.args[agent.args.indexOf('--state') + 1];
  const stateMount = agent.volumeMounts.find((m: Obj) => m.mountPath === stateDir);
  const stateVol = pod.volumes.find((v: Obj) => v.name === stateMount?.name);
  const pvc = one(objs, 'PersistentVolumeClaim', stateVol?.persistentVolumeClaim?.claimName);
  assert.equal(pvc.spec.storageClassName, 'gp3');
  const secretRef = agent.env.find((e: Obj) => e.name === 'SALLYPORT_PREAUTH_KEY').valueFrom.secretKeyRef;
  const secret = one(objs, 'Secret', secretRef.name);
  assert.ok(Object.hasOwn(secret.data, secretRef.key), 'the generated Secret holds the key');
  const cm = pod.volumes.find((v: Obj) => v.configMap)?.configMap.name;
  assert.ok(Object.hasOwn(one(objs, 'ConfigMap', cm).data, 'agent.json'));
  assert.match(agent.image, /^registry\.example\.com\/sallyport\/agent:/);
});

test('customer-eks: the connector may only impersonate, and only sallyport: groups', (t) => {
  const objs = render(t, 'customer-eks');
  if (!objs) return;
  const sa = one(objs, 'ServiceAccount', 'sallyport-connector');
  const bindings = byKind(objs, 'ClusterRoleBinding').filter((b) =>
    b.subjects.some((s: Obj) => s.kind === 'ServiceAccount' && s.name === sa.metadata.name),
  );
  assert.deepEqual(
    bindings.map((b) => b.roleRef.name),
    ['sallyport-impersonator'],
  );
  assert.deepEqual(byKind(objs, 'RoleBinding'), []);
  const role = one(objs, 'ClusterRole', 'sallyport-impersonator');
  for (const r of role.rules) {
    assert.deepEqual(r.verbs, ['impersonate']);
    for (const x of [...r.apiGroups, ...r.resources]) assert.doesNotMatch(x, /\*/);
    assert.ok(!r.resources.includes('serviceaccounts'), 'never a service account');
    if (r.resources.includes('groups')) {
      assert.ok(r.resourceNames?.length > 0, 'groups by name only');
      for (const n of r.resourceNames) assert.match(n, /^sallyport:/);
    }
  }
  assert.deepEqual(role.rules.flatMap((r: Obj) => r.resources).sort(), [
    'groups',
    'userextras/sallyport-grant',
    'users',
  ]);
  // The group the engineers act in reads only (sallyport-view): no secrets.
  const view = one(objs, 'ClusterRole', 'sallyport-view');
  for (const r of view.rules) {
    assert.ok(!r.resources.includes('secrets'));
    for (const v of r.verbs) assert.ok(['get', 'list', 'watch'].includes(v), v);
  }
});

test('vendor: coordinator StatefulSet with its data on a volume, relays, both locked down', (t) => {
  const objs = render(t, 'vendor');
  if (!objs) return;
  const coord = one(objs, 'StatefulSet', 'sallyport-coordinator');
  const relay = one(objs, 'Deployment', 'sallyport-relay');
  assertLockedDown(coord);
  assertLockedDown(relay);
  // Relays do not mesh: one per region address, never two at once (docs/operating-the-vendor-side.md).
  assert.equal(relay.spec.replicas, 1, 'one relay behind one address');
  assert.equal(relay.spec.strategy?.type, 'Recreate', 'no rolling update with two relays at once');
  const data = coord.spec.template.spec.containers[0];
  const dataDir = data.args[data.args.indexOf('--data') + 1];
  const mount = data.volumeMounts.find((m: Obj) => m.mountPath === dataDir);
  assert.ok(
    coord.spec.volumeClaimTemplates.some((v: Obj) => v.metadata.name === mount?.name),
    'the data directory is a PersistentVolumeClaim',
  );
  assert.equal(coord.spec.template.spec.automountServiceAccountToken, false, 'no cluster rights needed');
  const svc = one(objs, 'Service', 'sallyport-relay');
  assert.deepEqual(svc.spec.ports.map((p: Obj) => `${p.port}/${p.protocol}`).sort(), ['3478/UDP', '443/TCP']);
  one(objs, 'Service', 'sallyport-coordinator');
  for (const cm of byKind(objs, 'ConfigMap')) assert.match(cm.metadata.name, /-[a-z0-9]{10}$/, 'generated');
});

test("the overlays' config files are valid for their commands (keys and types)", async () => {
  const dir = `${root}deploy/kubernetes/overlays`;
  // Each file is read and accepted; the command then stops at the first value the overlay leaves
  // for the cluster or the operator to supply.
  const coord = await stderrOf('coordinator', ['--config', `${dir}/vendor/coordinator.json`]);
  assert.match(coord.err, /--data DIR is required/);
  const relay = await stderrOf('relay', ['--config', `${dir}/vendor/relay.json`]);
  assert.match(relay.err, /--listen HOST:PORT is required/);
  const agent = await stderrOf('agent', ['--config', `${dir}/customer-eks/agent.json`, '--kind', 'engineer']);
  assert.match(agent.err, /an engineer node serves no services/, agent.err);
  for (const r of [coord, relay, agent]) assert.doesNotMatch(r.err, /unknown key|must be/);
});
