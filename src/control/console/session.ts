// Console sessions: the session cookie and its CSRF token, pure functions over bytes and strings.
//
// The session is the bearer token `store.login` issues (the password check and the `user.login`
// audit record are the API's), carried in a cookie the page's script cannot read:
//
//   Set-Cookie: __Host-sallyport-session=<token>; Path=/; Max-Age=<s>; Secure; HttpOnly; SameSite=Strict
//
// `__Host-` makes the browser refuse the cookie unless it is Secure, has Path=/ and no Domain, so
// no sibling host can plant or read it. The CSRF token is bound to the session without state:
//
//   csrf = base64url( HMAC-SHA256( key, "sallyport console csrf v1" ‖ 0x00 ‖ token ) )
//
// `key` is 32 random bytes made when the coordinator starts (a restart ends the tokens; the page
// asks for a fresh one). The page reads it from GET /console/session and sends it in the
// `x-csrf-token` header of every state-changing call; the server recomputes and compares in
// constant time.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = '__Host-sallyport-session';
export const CSRF_HEADER = 'x-csrf-token';
const CSRF_CONTEXT = 'sallyport console csrf v1\0';
/** What a bearer token looks like (store: `spt_` + base64url); anything else is not looked up. */
const TOKEN = /^[A-Za-z0-9_-]{8,200}$/;
/** Most cookies one header may carry before the rest are ignored. */
const MAX_COOKIES = 64;

/** The value of cookie `name` in a Cookie header (the first of that name), or undefined. */
export function cookieValue(header: string | string[] | undefined, name: string): string | undefined {
  if (typeof header !== 'string') return undefined;
  for (const part of header.split(';', MAX_COOKIES)) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The session token from a Cookie header, or undefined (absent, malformed, or not a token). */
export function sessionFromCookie(header: string | string[] | undefined): string | undefined {
  const value = cookieValue(header, SESSION_COOKIE);
  return value !== undefined && TOKEN.test(value) ? value : undefined;
}

/** The Set-Cookie value that starts a session of `maxAgeMs`. */
export function sessionCookie(token: string, maxAgeMs: number): string {
  const maxAge = Math.max(0, Math.floor(maxAgeMs / 1000));
  return `${SESSION_COOKIE}=${token}; Path=/; Max-Age=${maxAge}; Secure; HttpOnly; SameSite=Strict`;
}

/** The Set-Cookie value that ends it. */
export function clearedCookie(): string {
  return `${SESSION_COOKIE}=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict`;
}

/** The CSRF token bound to `token` under `key`. */
export function csrfToken(key: Uint8Array, token: string): string {
  return createHmac('sha256', key)
    .update(CSRF_CONTEXT + token, 'utf8')
    .digest('base64url');
}

/** Whether `sent` is the CSRF token of `token` (constant time in the token's length). */
export function csrfValid(key: Uint8Array, token: string, sent: string | string[] | undefined): boolean {
  if (typeof sent !== 'string') return false;
  const want = Buffer.from(csrfToken(key, token), 'utf8');
  const got = Buffer.from(sent, 'utf8');
  return got.length === want.length && timingSafeEqual(got, want);
}

/** Methods that change nothing: they need no CSRF token. */
export const isSafeMethod = (m: string): boolean => m === 'GET' || m === 'HEAD' || m === 'OPTIONS';

/**
 * Tokens whose session was signed out, until they would have expired anyway: the store keeps a
 * token for its lifetime, so the console refuses a signed-out cookie itself. Bounded: past
 * `max` entries the oldest are forgotten first (they are the nearest to expiry).
 */
export class SignedOut {
  readonly #until = new Map<string, number>();
  constructor(readonly max = 10_000) {}

  add(token: string, untilMs: number, nowMs: number): void {
    this.prune(nowMs);
    while (this.#until.size >= this.max) this.#until.delete(this.#until.keys().next().value!);
    this.#until.set(digest(token), untilMs);
  }

  has(token: string, nowMs: number): boolean {
    const until = this.#until.get(digest(token));
    return until !== undefined && until > nowMs;
  }

  prune(nowMs: number): void {
    for (const [k, until] of this.#until) if (until <= nowMs) this.#until.delete(k);
  }

  get size(): number {
    return this.#until.size;
  }
}

const digest = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');
