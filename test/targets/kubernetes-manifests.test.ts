// The RBAC shipped under deploy/kubernetes says what the router enforces: the engineers' group
// reads without secrets, exec, attach, port-forward or proxy; the connector may only impersonate
// users, the one group and the grant extra. Checked on the text (no YAML parser dependency):
// each rule block's resources and verbs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

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
      ['groups', 'impersonate', "['sallyport:view']"],
      ['userextras/sallyport-grant', 'impersonate', undefined],
    ],
  );
  assert.doesNotMatch(ds[2], /serviceaccounts|\*/);
  assert.match(ds[3], /kind: ServiceAccount\n\s+name: sallyport-connector\n\s+namespace: sallyport/);
});
