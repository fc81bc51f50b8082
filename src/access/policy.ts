// Access policies as data. A document (JSON, or YAML read into the same shape) is checked by
// `validatePolicyDocument` (validate.ts) and becomes a `PolicySet`; one evaluator (evaluate.ts)
// applies it. Durations are whole milliseconds here; the document may write them as "2h".

/** What a grant lets its holder do on a service; the router and target reconcilers map it. */
export const ACCESS_LEVELS = ['read-only', 'read-write', 'admin'] as const;
export type AccessLevel = (typeof ACCESS_LEVELS)[number];

/**
 * Picks deployments or services: `'*'` for all, or by `names`, or by `labels` (every pair must be
 * present on the item). With both `names` and `labels`, an item matches if either picks it.
 */
export type Selector = '*' | SelectorSpec;
export interface SelectorSpec {
  readonly names?: readonly string[];
  readonly labels?: Readonly<Record<string, string>>;
}

/** A group and how many distinct people of it must approve (1..MAX_THRESHOLD). */
export interface ApproverQuorum {
  readonly group: string;
  readonly threshold: number;
}

/** Who decides a request (and its extensions). Snapshotted into each request and grant. */
export interface ApprovalRules {
  /** The vendor's approvers. */
  readonly approval: ApproverQuorum;
  /** The customer's co-approvers; null when the policy does not ask for customer approval. */
  readonly customer: ApproverQuorum | null;
}

/** Approval rules plus the time limits a request and its grant live under. */
export interface GrantRules extends ApprovalRules {
  /** Longest window one request may ask for. */
  readonly maxDurationMs: number;
  /** Longest window a grant may reach with all its extensions (>= maxDurationMs). */
  readonly maxTotalMs: number;
  /** How long a request or extension request may wait for a decision. */
  readonly pendingMs: number;
}

/** A policy for human, approved, time-limited access. */
export interface Policy extends GrantRules {
  /** Stable name, e.g. `oncall-readonly`. */
  readonly id: string;
  readonly description: string;
  /** Groups whose members may request under this policy. */
  readonly requesters: readonly string[];
  readonly deployments: Selector;
  readonly services: Selector;
  readonly access: AccessLevel;
}

/** Access that machine identities (management services, the metrics puller) hold without asking. */
export interface StandingPolicy {
  readonly id: string;
  readonly description: string;
  /** Machine identity ids (e.g. node or service-account names). */
  readonly machines: readonly string[];
  readonly deployments: Selector;
  readonly services: Selector;
  readonly access: AccessLevel;
}

/** A validated policy document. Policies are tried in order: the first that fits a request applies. */
export interface PolicySet {
  readonly policies: readonly Policy[];
  readonly standing: readonly StandingPolicy[];
}

/** A deployment or a service as the evaluator sees it: its name and labels. */
export interface Labelled {
  readonly name: string;
  readonly labels?: Readonly<Record<string, string>>;
}

/** Limits on documents (I10: nothing unbounded). */
export const LIMITS = {
  policies: 1000,
  standing: 1000,
  listItems: 256,
  labels: 64,
  idLength: 64,
  nameLength: 253,
  maxThreshold: 16,
  /** No grant window (with extensions) may exceed 7 days. */
  maxGrantMs: 7 * 86_400_000,
  /** No request may wait longer than 7 days. */
  maxPendingMs: 7 * 86_400_000,
  minPendingMs: 1000,
  /** Default `pendingFor` when a policy does not say. */
  defaultPendingMs: 3_600_000,
} as const;
