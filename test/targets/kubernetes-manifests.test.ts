// The RBAC shipped under deploy/kubernetes says what the router enforces: one group per access
// level (sallyport:view reads, sallyport:edit writes namespaced workloads, sallyport:admin a few
// cluster-scoped objects), none with secrets, exec, attach, port-forward, proxy, tokens or RBAC;
// the connector may only impersonate users, those three sallyport: groups and the grant extra.
// The connector configuration examples of the target docs parse as written. Checked on the text (no YAML parser dependency):
// each rule block's resources and verbs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseKubernetesOptions } from '../../src/targets/kubernetes/index.ts';
import { parsePrometheusOptions } from '../../src/targets/prometheus/index.ts';

const read = (f: string) =>
  readFileSync(new URL(`../../deploy/kubernetes/base/rbac/${f}`, import.meta.url), 'utf8');
const docs = (text: string) => text.split(/^---$/m).map((d) => d.replace(/^\s*#.*$/gm, ''));
const field = (doc: string, key: string) => new RegExp(`^\\s*${key}: (.+)$`, 'm').exec(doc)?.[1];

/** The rules of a ClusterRole: resources (block or flow list) and verbs per rule. */
function rules(
  doc: string,
): { groups: string; resources: string[]; names: string | undefined; verbs: string[] }[] {
  return doc
    .split(/^\s{2}- apiGroups: /m)
    .slice(1)
    .map((r) => {
      const flow = /resources: \[([^\]]*)\]/.exec(r)?.[1];
      const block = /resources:\n((?:\s+- .+\n?)+)/.exec(r)?.[1];
      const resources = (flow ?? block ?? '')
        .split(/[,\n]/)
        .map((s) => s.replace(/^\s*-\s*/, '').trim())
        .filter(Boolean);
      return {
        groups: r.split('\n')[0],
        resources,
        names: /resourceNames: (.+)/.exec(r)?.[1],
        verbs: (/verbs: \[([^\]]*)\]/.exec(r)?.[1] ?? '').split(',').map((s) => s.trim()),
      };
    });
}

test('sallyport-view: read-only, no secrets, exec, attach, port-forward, proxy or tokens; bound to sallyport:view', () => {
  const [role, binding] = docs(read('sallyport-view.yaml'));
  assert.equal(field(role, 'kind'), 'ClusterRole');
  assert.equal(field(role, 'name'), 'sallyport-view');
  assert.doesNotMatch(role, /aggregat/);
  const rs = rules(role);
  assert.ok(rs.length >= 5);
  const all = rs.flatMap((r) => r.resources);
  assert.ok(all.includes('pods') && all.includes('pods/log') && all.includes('deployments'));
  for (const r of all) {
    assert.notEqual(r, 'secrets');
    assert.doesNotMatch(r, /\*|\/(exec|attach|portforward|proxy|token)$/, r);
  }
  for (const r of rs) for (const v of r.verbs) assert.ok(['get', 'list', 'watch'].includes(v), v);
  assert.equal(field(binding, 'kind'), 'ClusterRoleBinding');
  assert.match(binding, /roleRef:[\s\S]*name: sallyport-view/);
  assert.match(binding, /kind: Group\n\s+name: sallyport:view/);
});

test('connector: a ServiceAccount that may only impersonate users, the one group and the grant extra', () => {
  const ds = docs(read('connector-rbac.yaml'));
  const kinds = ds.map((d) => field(d, 'kind'));
  assert.deepEqual(kinds, ['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding']);
  const rs = rules(ds[2]);
  assert.deepEqual(
    rs.map((r) => [r.resources.join(','), r.verbs.join(','), r.names]),
    [
      ['users', 'impersonate', undefined],
      ['groups', 'impersonate', "['sallyport:view', 'sallyport:edit', 'sallyport:admin']"],
      ['userextras/sallyport-grant', 'impersonate', undefined],
    ],
  );
  assert.doesNotMatch(ds[2], /serviceaccounts|\*/);
  assert.match(ds[3], /kind: ServiceAccount\n\s+name: sallyport-connector\n\s+namespace: sallyport/);
});

for (const [file, role, group, verbs] of [
  [
    'sallyport-edit.yaml',
    'sallyport-edit',
    'sallyport:edit',
    ['create', 'update', 'patch', 'delete', 'deletecollection'],
  ],
  ['sallyport-admin.yaml', 'sallyport-admin', 'sallyport:admin', ['create', 'update', 'patch', 'delete']],
] as const)
  test(`${role}: writes without secrets, service accounts, exec, attach, port-forward, proxy or RBAC; bound to ${group}`, () => {
    const [r, binding] = docs(read(file));
    assert.equal(field(r, 'kind'), 'ClusterRole');
    assert.equal(field(r, 'name'), role);
    assert.doesNotMatch(r, /aggregat|\*/);
    assert.doesNotMatch(
      r.slice(r.indexOf('rules:')),
      /rbac\.authorization|certificates\.k8s|admissionregistration|apiextensions/,
    );
    const rs = rules(r);
    assert.ok(rs.length >= 1);
    for (const x of rs) {
      for (const res of x.resources) {
        assert.ok(!['secrets', 'serviceaccounts'].includes(res), res);
        assert.doesNotMatch(res, /\/(exec|attach|portforward|proxy|token)$/, res);
      }
      for (const v of x.verbs) assert.ok((verbs as readonly string[]).includes(v), `${role}: verb ${v}`);
      assert.ok(!x.verbs.some((v) => ['impersonate', 'escalate', 'bind'].includes(v)));
    }
    assert.equal(field(binding, 'kind'), 'ClusterRoleBinding');
    assert.match(binding, new RegExp(`roleRef:[\\s\\S]*name: ${role}\\n`));
    assert.match(binding, new RegExp(`kind: Group\\n\\s+name: ${group}\\n?$`));
  });

test('the connector configuration examples in docs/targets/{kubernetes,prometheus}.md parse as written', () => {
  const example = (doc: string) => {
    const text = readFileSync(new URL(`../../docs/targets/${doc}`, import.meta.url), 'utf8');
    const block = /```json\n([\s\S]*?)```/.exec(text)?.[1];
    assert.ok(block, `${doc} has a json example`);
    return (JSON.parse(block) as { services: { target: unknown }[] }).services[0].target;
  };
  const k = parseKubernetesOptions(example('kubernetes.md'), 'k8s');
  assert.deepEqual(
    [k.groups, k.writeGroups, k.adminGroups, k.maxAccess],
    [['sallyport:view'], ['sallyport:edit'], ['sallyport:admin'], 'read-only'],
  );
  assert.equal(parsePrometheusOptions(example('prometheus.md'), 'prometheus').maxAccess, 'read-only');
});
