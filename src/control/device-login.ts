// The unauthenticated half of device login (POST /api/v1/device/challenge and /device/start),
// guarded so that no one can start a login for a node key they do not hold:
//
//   challenge() ─► a fresh challenge (stateless, CHALLENGE_TTL_MS, src/proto/control/device-proof.ts)
//   checkProof() ─► the challenge is ours, fresh and unused, and the proof is the node key's
//                   MAC over it with the coordinator's channel key; else 401 CHALLENGE / PROOF
//
//   waitMs(address) / started(address) ─► at most MAX_STARTS_PER_SOURCE starts per source in the
//                   code lifetime; a source is an IPv4 address or an IPv6 /64. Past it, 429
//                   RATE_LIMITED with Retry-After, for that source only: a flood from one source
//                   cannot use up the store's cap on pending codes (1000) for everyone else.
//
// Used challenges are remembered until they expire; sources are tracked in a bounded table
// (MAX_SOURCES; when it is full of live entries, a new source waits: 429 with Retry-After).
import type { Clock } from '../clock/index.ts';
import { PublicKey, type PrivateKey } from '../crypto/index.ts';
import {
  DEVICE_CHALLENGE_LEN,
  deviceChallengeIssuedAt,
  deviceChallengeKey,
  deviceProof,
  newDeviceChallenge,
  verifyDeviceProof,
} from '../proto/control/index.ts';
import { ControlError } from './errors.ts';

/** How long a challenge may be used after it was issued. */
export const CHALLENGE_TTL_MS = 120_000;
/** Tolerance for a challenge issued by another coordinator whose clock runs ahead. */
const CLOCK_SKEW_MS = 5_000;
const MAX_USED_CHALLENGES = 10_000;
/** Device logins one source may start within a code's lifetime. */
export const MAX_STARTS_PER_SOURCE = 10;
const MAX_SOURCES = 10_000;

/** The source an address counts as: the IPv4 address, or the /64 of an IPv6 address. */
export function sourceOf(address: string): string {
  const a = address.toLowerCase().replace(/%.*$/, '');
  const v4 = /^(?:::ffff:)?(\d{1,3}(?:\.\d{1,3}){3})$/.exec(a);
  if (v4) return v4[1];
  if (!a.includes(':')) return a;
  const [head, tail = ''] = a.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = a.includes('::')
    ? [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t]
    : h;
  return `${groups
    .slice(0, 4)
    .map((g) => (g.includes('.') ? g : g.replace(/^0+(?=.)/, '')))
    .join(':')}::/64`;
}

export interface DeviceLoginGuardOptions {
  clock: Clock;
  /** A device code's lifetime: a start counts against its source for this long. */
  codeTtlMs: number;
  /** Default MAX_STARTS_PER_SOURCE. */
  maxStartsPerSource?: number;
  /** The coordinator's channel key (agents and `sallyport login` pin its public half). */
  coordinatorKey: PrivateKey;
}

export class DeviceLoginGuard {
  readonly #clock: Clock;
  readonly #key: PrivateKey;
  readonly #challengeKey: Uint8Array;
  /**
   * Used challenges (base64url) → when they expire; purged from the oldest insertion while expired
   * (insertion order is nearly expiry order: every entry expires within TTL + skew of its use).
   * Per process: behind several coordinators a challenge is single-use per coordinator.
   */
  readonly #used = new Map<string, number>();
  /** Source → the times of its starts within the code lifetime (oldest first). */
  readonly #sources = new Map<string, number[]>();
  readonly #ttl: number;
  readonly #perSource: number;

  constructor(o: DeviceLoginGuardOptions) {
    this.#clock = o.clock;
    this.#ttl = o.codeTtlMs;
    this.#perSource = o.maxStartsPerSource ?? MAX_STARTS_PER_SOURCE;
    this.#key = o.coordinatorKey;
    this.#challengeKey = deviceChallengeKey(o.coordinatorKey);
  }

  #now(): number {
    return Math.floor(this.#clock.wallMs());
  }

  /** Milliseconds until `address`'s source may start another device login, or 0. */
  waitMs(address: string): number {
    const now = this.#now();
    const src = sourceOf(address);
    const starts = this.#live(src, now);
    if (starts && starts.length >= this.#perSource) return starts[0] + this.#ttl - now;
    if (!starts && this.#sources.size >= MAX_SOURCES) {
      for (const s of [...this.#sources.keys()]) this.#live(s, now);
      if (this.#sources.size >= MAX_SOURCES)
        return Math.max(1000, Math.min(...[...this.#sources.values()].map((t) => t[0] + this.#ttl - now)));
    }
    return 0;
  }

  /** Counts a started device login against `address`'s source. */
  started(address: string): void {
    const now = this.#now();
    const src = sourceOf(address);
    const starts = this.#live(src, now) ?? [];
    starts.push(now);
    if (starts.length > this.#perSource) starts.shift();
    this.#sources.set(src, starts);
  }

  /** The source's starts still within the code lifetime; forgets the source when none are. */
  #live(src: string, now: number): number[] | undefined {
    const starts = this.#sources.get(src);
    if (!starts) return undefined;
    while (starts.length && now - starts[0] >= this.#ttl) starts.shift();
    if (starts.length) return starts;
    this.#sources.delete(src);
    return undefined;
  }

  /** A fresh challenge, base64url. */
  challenge(): string {
    return Buffer.from(newDeviceChallenge(this.#challengeKey, this.#now())).toString('base64url');
  }

  /** Refuses (ControlError CHALLENGE, PROOF or BUSY) unless the proof is good; marks the challenge used. */
  checkProof(b: { nodeKey: string; name: string; challenge: string; proof: string }): void {
    const now = this.#now();
    const challenge = Buffer.from(b.challenge, 'base64url');
    const issued =
      challenge.length === DEVICE_CHALLENGE_LEN
        ? deviceChallengeIssuedAt(this.#challengeKey, challenge)
        : undefined;
    if (issued === undefined)
      throw new ControlError(
        'CHALLENGE',
        'not a challenge from this coordinator: ask /api/v1/device/challenge',
      );
    if (issued > now + CLOCK_SKEW_MS || now - issued > CHALLENGE_TTL_MS)
      throw new ControlError('CHALLENGE', 'the challenge has expired: ask for a new one and start again');
    for (const [c, exp] of this.#used) {
      if (exp > now) break;
      this.#used.delete(c);
    }
    const id = challenge.toString('base64url');
    if (this.#used.has(id))
      throw new ControlError('CHALLENGE', 'the challenge was used already: ask for a new one');
    const ok = verifyDeviceProof(
      this.#key,
      PublicKey.fromBase64(b.nodeKey),
      challenge,
      b.name,
      Buffer.from(b.proof, 'base64'),
    );
    if (!ok)
      throw new ControlError(
        'PROOF',
        "the proof does not match the node key and this coordinator's key: check --coordinator-key",
      );
    if (this.#used.size >= MAX_USED_CHALLENGES)
      throw new ControlError('BUSY', 'too many device logins starting at once; try again in a minute', {
        retryable: true,
      });
    this.#used.set(id, issued + CHALLENGE_TTL_MS + CLOCK_SKEW_MS);
  }
}

/**
 * The client's body for POST /api/v1/device/start: the node key, the name, the challenge and the
 * proof (CONFIG error when `coordinatorKey` is a low-order point: no such coordinator is genuine).
 */
export function deviceStartBody(
  nodeKey: PrivateKey,
  coordinatorKey: PublicKey,
  challenge: string,
  name: string,
): { nodeKey: string; name: string; challenge: string; proof: string } {
  const proof = deviceProof(nodeKey, coordinatorKey, Buffer.from(challenge, 'base64url'), name);
  if (!proof) throw new ControlError('CONFIG', 'the coordinator key is not a usable X25519 key');
  return {
    nodeKey: nodeKey.publicKey.base64(),
    name,
    challenge,
    proof: Buffer.from(proof).toString('base64'),
  };
}
