// Checks a policy document (parsed JSON or YAML, so `unknown`) and turns it into a PolicySet.
// Every problem is reported, each with a stable code and the path of the offending field:
//
//   { "version": 1,
//     "policies": [{ "id": "oncall-readonly", "description": "…",
//                    "requesters": ["oncall"],
//                    "deployments": "*" | { "names": […], "labels": { "k": "v" } },
//                    "services":    "*" | { "names": […], "labels": { … } },
//                    "access": "read-only" | "read-write" | "admin",
//                    "maxDuration": "4h" | 14400000,       (≤ 7d)
//                    "maxTotal": "8h",                     (optional, default maxDuration; ≥ it, ≤ 7d)
//                    "pendingFor": "1h",                   (optional, default 1h; 1s..7d)
//                    "approval": { "group": "sre-leads", "threshold": 2 },   (threshold default 1)
//                    "customer": { "group": "acme-admins", "threshold": 1 } (optional: co-approval)
//                  }],
//     "standing": [{ "id": "metrics", "machines": ["metrics-puller"], "deployments": "*",
//                    "services": { "labels": { "kind": "prometheus" } }, "access": "read-only" }] }
import { readDuration } from './duration.ts';
import { AccessError } from './errors.ts';
import {
  ACCESS_LEVELS,
  LIMITS,
  type AccessLevel,
  type ApproverQuorum,
  type Policy,
  type PolicySet,
  type Selector,
  type StandingPolicy,
} from './policy.ts';

/**
 * Issue codes:
 * - DOCUMENT_INVALID: not an object, or `version` is not 1.
 * - FIELD_MISSING / FIELD_TYPE / FIELD_UNKNOWN: a required field absent, of the wrong type, or a
 *   field we do not know (a typo such as `treshold` must not silently weaken a policy).
 * - ID_INVALID / ID_DUPLICATE: an id not 1–64 of [A-Za-z0-9._-] starting alphanumeric, or repeated.
 * - NAME_INVALID: a group, machine, deployment, service or label that is empty, too long or has
 *   control characters.
 * - LIST_EMPTY / TOO_MANY: an empty list where one is needed, or more entries than LIMITS allow.
 * - SELECTOR_EMPTY: a selector with neither names nor labels (write "*" to mean all).
 * - ACCESS_LEVEL_UNKNOWN: not one of ACCESS_LEVELS.
 * - DURATION_INVALID / DURATION_OUT_OF_RANGE: unreadable, not positive, or beyond LIMITS.
 * - TOTAL_BELOW_MAX: maxTotal shorter than maxDuration.
 * - THRESHOLD_INVALID: not an integer in 1..LIMITS.maxThreshold.
 * - GROUPS_OVERLAP: the customer group is the vendor approver group (co-approval would mean nothing).
 */
export type PolicyIssueCode =
  | 'DOCUMENT_INVALID'
  | 'FIELD_MISSING'
  | 'FIELD_TYPE'
  | 'FIELD_UNKNOWN'
  | 'ID_INVALID'
  | 'ID_DUPLICATE'
  | 'NAME_INVALID'
  | 'LIST_EMPTY'
  | 'TOO_MANY'
  | 'SELECTOR_EMPTY'
  | 'ACCESS_LEVEL_UNKNOWN'
  | 'DURATION_INVALID'
  | 'DURATION_OUT_OF_RANGE'
  | 'TOTAL_BELOW_MAX'
  | 'THRESHOLD_INVALID'
  | 'GROUPS_OVERLAP';

export interface PolicyIssue {
  readonly code: PolicyIssueCode;
  /** JSON-pointer-like path, e.g. `policies[2].approval.threshold`. */
  readonly path: string;
  readonly message: string;
}

export type PolicyValidation =
  | { readonly ok: true; readonly value: PolicySet }
  | { readonly ok: false; readonly issues: readonly PolicyIssue[] };

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

class Checker {
  readonly issues: PolicyIssue[] = [];
  add(code: PolicyIssueCode, path: string, message: string): undefined {
    this.issues.push({ code, path, message });
    return undefined;
  }
  fields(o: Obj, path: string, allowed: readonly string[]): void {
    for (const k of Object.keys(o)) {
      if (!allowed.includes(k)) this.add('FIELD_UNKNOWN', join(path, k), `unknown field "${k}"`);
    }
  }
  string(o: Obj, key: string, path: string, optional = false): string | undefined {
    const v = o[key];
    const p = join(path, key);
    if (v === undefined) return optional ? undefined : this.add('FIELD_MISSING', p, `${key} is required`);
    if (typeof v !== 'string') return this.add('FIELD_TYPE', p, `${key} must be a string`);
    return v;
  }
  id(o: Obj, path: string): string | undefined {
    const v = this.string(o, 'id', path);
    if (v !== undefined && !ID.test(v)) {
      return this.add(
        'ID_INVALID',
        join(path, 'id'),
        'id must be 1-64 of [A-Za-z0-9._-], starting alphanumeric',
      );
    }
    return v;
  }
  name(v: unknown, path: string, what: string): string | undefined {
    if (typeof v !== 'string') return this.add('FIELD_TYPE', path, `${what} must be a string`);
    if (v.length === 0 || v.length > LIMITS.nameLength || CONTROL.test(v) || v.trim() !== v) {
      return this.add(
        'NAME_INVALID',
        path,
        `${what} must be 1-${LIMITS.nameLength} characters, no spaces at the ends, no control characters`,
      );
    }
    return v;
  }
  names(o: Obj, key: string, path: string, what: string): string[] | undefined {
    const v = o[key];
    const p = join(path, key);
    if (v === undefined) return this.add('FIELD_MISSING', p, `${key} is required`);
    if (!Array.isArray(v)) return this.add('FIELD_TYPE', p, `${key} must be a list of ${what}s`);
    if (v.length === 0) return this.add('LIST_EMPTY', p, `${key} needs at least one ${what}`);
    if (v.length > LIMITS.listItems)
      return this.add('TOO_MANY', p, `${key} has more than ${LIMITS.listItems} entries`);
    const out = v.map((x, i) => this.name(x, `${p}[${i}]`, what));
    return out.every((x) => x !== undefined) ? [...new Set(out as string[])] : undefined;
  }
  selector(o: Obj, key: string, path: string): Selector | undefined {
    const v = o[key];
    const p = join(path, key);
    if (v === undefined) return this.add('FIELD_MISSING', p, `${key} is required ("*" for all)`);
    if (v === '*') return '*';
    if (!isObj(v)) return this.add('FIELD_TYPE', p, `${key} must be "*" or { names, labels }`);
    this.fields(v, p, ['names', 'labels']);
    if (v.names === undefined && v.labels === undefined) {
      return this.add('SELECTOR_EMPTY', p, `${key} picks nothing: give names or labels, or "*" for all`);
    }
    const names = v.names === undefined ? undefined : this.names(v, 'names', p, 'name');
    let labels: Record<string, string> | undefined;
    if (v.labels !== undefined) {
      const lp = join(p, 'labels');
      if (!isObj(v.labels)) return this.add('FIELD_TYPE', lp, 'labels must be an object of strings');
      const entries = Object.entries(v.labels);
      if (entries.length === 0) return this.add('SELECTOR_EMPTY', lp, 'labels is empty');
      if (entries.length > LIMITS.labels)
        return this.add('TOO_MANY', lp, `more than ${LIMITS.labels} labels`);
      const pairs: [string, string][] = [];
      for (const [k, val] of entries) {
        const kk = this.name(k, join(lp, k), 'label key');
        const vv = this.name(val, join(lp, k), 'label value');
        if (kk !== undefined && vv !== undefined) pairs.push([kk, vv]);
      }
      // fromEntries defines own properties, so a "__proto__" key stays a plain label.
      labels = Object.fromEntries(pairs);
    }
    if (this.issues.some((i) => i.path.startsWith(p))) return undefined;
    return { ...(names && { names }), ...(labels && { labels }) };
  }
  access(o: Obj, path: string): AccessLevel | undefined {
    const v = this.string(o, 'access', path);
    if (v === undefined) return undefined;
    if (!(ACCESS_LEVELS as readonly string[]).includes(v)) {
      return this.add(
        'ACCESS_LEVEL_UNKNOWN',
        join(path, 'access'),
        `access must be one of ${ACCESS_LEVELS.join(', ')}`,
      );
    }
    return v as AccessLevel;
  }
  duration(o: Obj, key: string, path: string, min: number, max: number, dflt?: number): number | undefined {
    const v = o[key];
    const p = join(path, key);
    if (v === undefined) return dflt ?? this.add('FIELD_MISSING', p, `${key} is required (e.g. "2h")`);
    const ms =
      typeof v === 'string'
        ? readDuration(v)
        : typeof v === 'number' && Number.isSafeInteger(v)
          ? v
          : undefined;
    if (ms === undefined)
      return this.add('DURATION_INVALID', p, `${key} must be a duration such as "30m" or whole milliseconds`);
    if (ms < min || ms > max)
      return this.add('DURATION_OUT_OF_RANGE', p, `${key} must be between ${min} ms and ${max} ms`);
    return ms;
  }
  quorum(o: Obj, key: string, path: string, optional: boolean): ApproverQuorum | null | undefined {
    const v = o[key];
    const p = join(path, key);
    if (v === undefined || (optional && v === null)) {
      return optional ? null : this.add('FIELD_MISSING', p, `${key} is required`);
    }
    if (!isObj(v)) return this.add('FIELD_TYPE', p, `${key} must be { group, threshold }`);
    this.fields(v, p, ['group', 'threshold']);
    const group =
      v.group === undefined
        ? this.add('FIELD_MISSING', join(p, 'group'), 'group is required')
        : this.name(v.group, join(p, 'group'), 'group');
    const t = v.threshold ?? 1;
    if (!Number.isInteger(t) || (t as number) < 1 || (t as number) > LIMITS.maxThreshold) {
      return this.add(
        'THRESHOLD_INVALID',
        join(p, 'threshold'),
        `threshold must be an integer from 1 to ${LIMITS.maxThreshold}`,
      );
    }
    return group === undefined ? undefined : { group, threshold: t as number };
  }
}

const join = (path: string, key: string): string => (path === '' ? key : `${path}.${key}`);

function checkPolicy(c: Checker, v: unknown, path: string): Policy | undefined {
  if (!isObj(v)) return c.add('FIELD_TYPE', path, 'a policy must be an object');
  const before = c.issues.length;
  c.fields(v, path, [
    'id',
    'description',
    'requesters',
    'deployments',
    'services',
    'access',
    'maxDuration',
    'maxTotal',
    'pendingFor',
    'approval',
    'customer',
  ]);
  const id = c.id(v, path);
  const description = c.string(v, 'description', path, true) ?? '';
  const requesters = c.names(v, 'requesters', path, 'group');
  const deployments = c.selector(v, 'deployments', path);
  const services = c.selector(v, 'services', path);
  const access = c.access(v, path);
  const maxDurationMs = c.duration(v, 'maxDuration', path, 1000, LIMITS.maxGrantMs);
  const maxTotalMs = c.duration(v, 'maxTotal', path, 1000, LIMITS.maxGrantMs, maxDurationMs);
  const pendingMs = c.duration(
    v,
    'pendingFor',
    path,
    LIMITS.minPendingMs,
    LIMITS.maxPendingMs,
    LIMITS.defaultPendingMs,
  );
  const approval = c.quorum(v, 'approval', path, false);
  const customer = c.quorum(v, 'customer', path, true);
  if (maxDurationMs !== undefined && maxTotalMs !== undefined && maxTotalMs < maxDurationMs) {
    c.add('TOTAL_BELOW_MAX', join(path, 'maxTotal'), 'maxTotal must be at least maxDuration');
  }
  if (approval && customer && approval.group === customer.group) {
    c.add(
      'GROUPS_OVERLAP',
      join(path, 'customer.group'),
      'the customer group must differ from the approver group',
    );
  }
  if (c.issues.length !== before) return undefined;
  return {
    id: id!,
    description,
    requesters: requesters!,
    deployments: deployments!,
    services: services!,
    access: access!,
    maxDurationMs: maxDurationMs!,
    maxTotalMs: maxTotalMs!,
    pendingMs: pendingMs!,
    approval: approval!,
    customer: customer ?? null,
  };
}

function checkStanding(c: Checker, v: unknown, path: string): StandingPolicy | undefined {
  if (!isObj(v)) return c.add('FIELD_TYPE', path, 'a standing grant must be an object');
  const before = c.issues.length;
  c.fields(v, path, ['id', 'description', 'machines', 'deployments', 'services', 'access']);
  const id = c.id(v, path);
  const description = c.string(v, 'description', path, true) ?? '';
  const machines = c.names(v, 'machines', path, 'machine');
  const deployments = c.selector(v, 'deployments', path);
  const services = c.selector(v, 'services', path);
  const access = c.access(v, path);
  if (c.issues.length !== before) return undefined;
  return {
    id: id!,
    description,
    machines: machines!,
    deployments: deployments!,
    services: services!,
    access: access!,
  };
}

function list<T extends { id: string }>(
  c: Checker,
  doc: Obj,
  key: 'policies' | 'standing',
  max: number,
  check: (c: Checker, v: unknown, path: string) => T | undefined,
): T[] {
  const v = doc[key];
  if (v === undefined) return [];
  if (!Array.isArray(v)) return c.add('FIELD_TYPE', key, `${key} must be a list`) ?? [];
  if (v.length > max) return c.add('TOO_MANY', key, `more than ${max} entries`) ?? [];
  const out: T[] = [];
  const seen = new Set<string>();
  v.forEach((item, i) => {
    const p = `${key}[${i}]`;
    const got = check(c, item, p);
    const id = isObj(item) && typeof item.id === 'string' ? item.id : undefined;
    if (id !== undefined && seen.has(id))
      c.add('ID_DUPLICATE', join(p, 'id'), `id "${id}" is used twice in ${key}`);
    if (id !== undefined) seen.add(id);
    if (got) out.push(got);
  });
  return out;
}

/** Checks a policy document; never throws. */
export function validatePolicyDocument(doc: unknown): PolicyValidation {
  const c = new Checker();
  if (!isObj(doc))
    return {
      ok: false,
      issues: [{ code: 'DOCUMENT_INVALID', path: '', message: 'a policy document must be an object' }],
    };
  c.fields(doc, '', ['version', 'policies', 'standing']);
  if (doc.version !== 1) c.add('DOCUMENT_INVALID', 'version', 'version must be 1');
  const policies = list(c, doc, 'policies', LIMITS.policies, checkPolicy);
  const standing = list(c, doc, 'standing', LIMITS.standing, checkStanding);
  if (c.issues.length > 0) return { ok: false, issues: c.issues };
  return { ok: true, value: { policies, standing } };
}

/** Like validatePolicyDocument, but throws AccessError POLICY_INVALID carrying every issue. */
export function parsePolicyDocument(doc: unknown): PolicySet {
  const r = validatePolicyDocument(doc);
  if (r.ok) return r.value;
  const first = r.issues.slice(0, 3).map((i) => `${i.path || '(document)'}: ${i.message} [${i.code}]`);
  const more = r.issues.length > 3 ? ` (+${r.issues.length - 3} more)` : '';
  throw new AccessError('POLICY_INVALID', `invalid policy document: ${first.join('; ')}${more}`, {
    issues: r.issues,
  });
}
