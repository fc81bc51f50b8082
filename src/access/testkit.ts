// Fixtures for the access tests (imported by *.test.ts only): a policy document, a catalog, people.
import assert from 'node:assert/strict';
import type { Actor } from './approvals.ts';
import type { AccessRequestInput } from './evaluate.ts';
import type { Labelled, PolicySet } from './policy.ts';
import { refuse, type Applied, type Outcome, type Refusal } from './refusal.ts';
import type { Effect } from './effects.ts';
import { openRequest, requestTransition, type RequestEvent, type RequestState } from './request.ts';
import { grantTransition, type GrantEvent, type GrantState } from './grant.ts';
import {
  extensionTransition,
  openExtension,
  type ExtensionEvent,
  type ExtensionPair,
  type ExtensionState,
} from './extension.ts';
import { parsePolicyDocument } from './validate.ts';

export const MIN = 60_000;
export const HOUR = 60 * MIN;
export const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);

export const DOC = {
  version: 1,
  policies: [
    {
      id: 'oncall-obs',
      requesters: ['oncall'],
      deployments: { labels: { env: 'prod' } },
      services: { labels: { tier: 'obs' } },
      access: 'read-only',
      maxDuration: '4h',
      maxTotal: '8h',
      pendingFor: '30m',
      approval: { group: 'sre-leads', threshold: 1 },
    },
    {
      id: 'oncall-db',
      requesters: ['oncall'],
      deployments: '*',
      services: { names: ['clickhouse'], labels: { tier: 'obs' } },
      access: 'read-only',
      maxDuration: '2h',
      maxTotal: '3h',
      pendingFor: '1h',
      approval: { group: 'sre-leads', threshold: 2 },
      customer: { group: 'acme-admins', threshold: 1 },
    },
    {
      id: 'break-glass',
      requesters: ['sre-leads'],
      deployments: { names: ['acme-prod'] },
      services: '*',
      access: 'admin',
      maxDuration: '1h',
      approval: { group: 'security', threshold: 2 },
      customer: { group: 'acme-admins' },
    },
  ],
  standing: [
    {
      id: 'metrics',
      machines: ['metrics-puller'],
      deployments: '*',
      services: { labels: { kind: 'prometheus' } },
      access: 'read-only',
    },
    {
      id: 'mgmt',
      machines: ['mgmt-a', 'mgmt-b'],
      deployments: { labels: { env: 'prod' } },
      services: { names: ['k8s'] },
      access: 'read-write',
    },
  ],
};

export const POLICIES: PolicySet = parsePolicyDocument(DOC);

export const PROD: Labelled = { name: 'acme-prod', labels: { env: 'prod', cloud: 'aws' } };
export const DEV: Labelled = { name: 'acme-dev', labels: { env: 'dev' } };
export const SERVICES: readonly Labelled[] = [
  { name: 'k8s', labels: { kind: 'kubernetes', tier: 'ops' } },
  { name: 'clickhouse', labels: { kind: 'clickhouse', tier: 'data' } },
  { name: 'prometheus', labels: { kind: 'prometheus', tier: 'obs' } },
  { name: 'grafana', labels: { kind: 'http', tier: 'obs' } },
];

const person = (id: string, ...groups: string[]): Actor => ({ id, groups });
export const P = {
  alice: person('alice', 'oncall'),
  bob: person('bob', 'oncall', 'sre-leads'),
  carol: person('carol', 'sre-leads'),
  dave: person('dave', 'sre-leads', 'acme-admins'),
  /** The customer's person (acme-prod's customer, in its approvers' group). */
  erin: { id: 'erin', groups: ['acme-admins'], customerOf: ['acme-prod'] } as Actor,
  /** Another customer's person, in a group of the same name. */
  yuri: { id: 'yuri', groups: ['acme-admins'], customerOf: ['globex-prod'] } as Actor,
  frank: person('frank', 'security'),
  grace: person('grace', 'security'),
  mallory: person('mallory'),
  root: { id: 'root', groups: [], admin: true } as Actor,
};

export const ctx = (now = T0, deployment: Labelled | undefined = PROD) => ({
  now,
  deployment,
  services: SERVICES,
});

export function req(over: Partial<AccessRequestInput> = {}): AccessRequestInput {
  return {
    requester: P.alice,
    deployment: 'acme-prod',
    services: ['grafana'],
    durationMs: 2 * HOUR,
    reason: 'INC-42',
    ...over,
  };
}

/** Asserts the outcome applied and returns it. */
export function applied<S>(o: Outcome<S>): Applied<S> {
  if (!o.ok) assert.fail(`expected applied, got ${o.code}: ${o.reason}`);
  return o;
}

/** Asserts the outcome was refused (with `code` when given) and returns it. */
export function refused<S>(o: Outcome<S>, code?: string): Refusal<S> {
  if (o.ok) assert.fail(`expected refusal ${code ?? ''}, got applied`);
  if (code !== undefined) assert.equal(o.code, code, o.reason);
  return o;
}

export const kinds = (o: { effects: readonly { kind: string }[] }): string[] => o.effects.map((e) => e.kind);
export const actions = (o: { effects: readonly { kind: string; action?: string }[] }): string[] =>
  o.effects.filter((e) => e.kind === 'audit').map((e) => e.action!);

/**
 * What the coordinator does with outcomes, minus the database: holds a request, its grant and its
 * extensions, applies each event, persists applied states and lapses, and keeps every effect.
 */
export class World {
  request: RequestState;
  grant: GrantState | undefined;
  readonly extensions = new Map<string, ExtensionState>();
  readonly effects: Effect[] = [];

  constructor(request: RequestState) {
    this.request = request;
  }

  static open(over: Partial<AccessRequestInput> = {}, now = T0): World {
    const o = applied(openRequest(POLICIES, req(over), { ...ctx(now), id: 'r1', grantId: 'g1' }));
    const w = new World(o.state);
    w.effects.push(...o.effects);
    return w;
  }

  private keep<S>(o: Outcome<S>, set: (s: S) => void): Outcome<S> {
    const a = o.ok ? o : o.lapse;
    if (a !== undefined) {
      set(a.state);
      this.effects.push(...a.effects);
      for (const e of a.effects) if (e.kind === 'grant-created') this.grant = e.grant;
    }
    return o;
  }

  onRequest(e: RequestEvent, now: number): Outcome<RequestState> {
    return this.keep(requestTransition(this.request, e, now), (s) => (this.request = s));
  }

  onGrant(e: GrantEvent, now: number): Outcome<GrantState> {
    if (this.grant === undefined) return refuse('GRANT_NOT_ACTIVE', 'no grant');
    return this.keep(grantTransition(this.grant, e, now), (s) => (this.grant = s));
  }

  openExtension(id: string, actor: Actor, addMs: number, now: number): Outcome<ExtensionState> {
    if (this.grant === undefined) return refuse('GRANT_NOT_ACTIVE', 'no grant');
    return this.keep(openExtension(this.grant, { id, actor, addMs, reason: 'more time' }, now), (s) =>
      this.extensions.set(id, s),
    );
  }

  onExtension(id: string, e: ExtensionEvent, now: number): Outcome<ExtensionPair> {
    const extension = this.extensions.get(id);
    if (extension === undefined || this.grant === undefined)
      return refuse('NOT_PENDING', 'no such extension');
    return this.keep(extensionTransition({ extension, grant: this.grant }, e, now), (s) => {
      this.extensions.set(id, s.extension);
      this.grant = s.grant;
    });
  }

  count(kind: Effect['kind']): number {
    return this.effects.filter((e) => e.kind === kind).length;
  }
}
