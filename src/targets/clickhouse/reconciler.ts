// Keeps ClickHouse's users.d holding exactly one user per active grant of this service.
//
//   reconcile(grants) ─► desired = grants still running (notAfter > now), by user name
//     ├─ for each desired: render + validate ─► unchanged on disk? skip : write tmp, fsync, rename
//     ├─ for each `sallyport-sp_*.xml` on disk not desired ─► unlink (+ its password)
//     └─ arm the expiry timer at the earliest notAfter (removal does not wait for the agent)
//
// Files are the state: after a connector restart the scan of our own prefix converges (stale
// users go, live ones are rewritten only if different). router-auth passwords are generated
// here, stored 0600 below the connector's state directory, and only their SHA-256 is written to
// users.d; they never leave the connector. Calls are serialised; an unchanged set costs one
// readdir.
import { randomBytes, createHash } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { Timer, type Clock } from '../../clock/index.ts';
import type { GrantIdentity, LocalAuditSink, TargetReconciler } from '../types.ts';
import { clickhouseUserName, userOfFile, usersFileName } from './names.ts';
import { renderUsersFile, type ClickHouseMode } from './users-file.ts';

export interface ReconcilerOptions {
  service: string;
  mode: ClickHouseMode;
  usersDir: string;
  /** Where router-auth passwords live (created 0700). */
  secretsDir: string;
  networks: readonly string[];
  maxExecutionTime: number;
  quota: string;
  clock: Clock;
  logger: Logger;
  audit: LocalAuditSink;
  /**
   * Asks ClickHouse to re-read users.d now (SYSTEM RELOAD CONFIG as the admin: ~20 ms instead of
   * its own poll, up to ~2 s). Called after a pass that changed files; failures are only logged.
   */
  reload?(): Promise<void>;
  /** After every pass: the users now present (name → grant) and those just removed. */
  onChange?(active: ReadonlyMap<string, GrantIdentity>, removed: readonly RemovedUser[]): void;
}

export interface RemovedUser {
  user: string;
  /** Unknown for a user left over from before a restart. */
  grant?: GrantIdentity;
}

/** The longest wait the expiry timer is armed for (timers overflow past ~24.8 days). */
const MAX_TIMER_MS = 24 * 3600_000;

export class ClickHouseReconciler implements TargetReconciler {
  readonly #o: ReconcilerOptions;
  /** name → grant of the users on disk as of the last pass. */
  #active = new Map<string, GrantIdentity>();
  /** name → file content we last wrote or verified. */
  readonly #written = new Map<string, string>();
  readonly #passwords = new Map<string, string>();
  #last: readonly GrantIdentity[] = [];
  #chain: Promise<void> = Promise.resolve();
  readonly #expiry: Timer;
  #closed = false;

  constructor(o: ReconcilerOptions) {
    this.#o = o;
    this.#expiry = new Timer(o.clock, () => void this.reconcile(this.#last).catch(() => undefined));
  }

  /** The grant user's credentials (router-auth), or undefined when it has no user now. */
  credentials(grantId: string): { user: string; password: string } | undefined {
    for (const [user, g] of this.#active) {
      if (g.grantId !== grantId) continue;
      const password = this.#passwords.get(user);
      return password === undefined ? undefined : { user, password };
    }
    return undefined;
  }

  get active(): ReadonlyMap<string, GrantIdentity> {
    return this.#active;
  }

  reconcile(grants: readonly GrantIdentity[]): Promise<void> {
    this.#last = grants;
    const run = this.#chain.then(() => this.#pass(grants));
    this.#chain = run.catch(() => undefined);
    return run;
  }

  async #pass(grants: readonly GrantIdentity[]): Promise<void> {
    if (this.#closed) return;
    const o = this.#o;
    const now = o.clock.wallMs();
    const desired = new Map<string, GrantIdentity>();
    const byCn = new Map<string, string>();
    for (const g of grants) {
      if (g.service !== o.service || (g.notAfter !== null && g.notAfter <= now)) continue;
      const name = clickhouseUserName(g);
      if (o.mode === 'native-cert') {
        // ClickHouse maps a certificate CN to one user: keep the grant that runs longest.
        const other = byCn.get(g.user);
        const og = other === undefined ? undefined : desired.get(other);
        if (og && (og.notAfter === null || (g.notAfter !== null && g.notAfter <= og.notAfter))) continue;
        if (other !== undefined) desired.delete(other);
        byCn.set(g.user, name);
      }
      desired.set(name, g);
    }
    await mkdir(o.usersDir, { recursive: true });
    const onDisk = new Set<string>();
    for (const f of await readdir(o.usersDir)) {
      const u = userOfFile(f);
      if (u) onDisk.add(u);
    }
    let changed = false;
    for (const [name, g] of [...desired]) {
      let xml: string;
      try {
        xml = renderUsersFile({
          mode: o.mode,
          user: name,
          grantId: g.grantId,
          passwordSha256: o.mode === 'router-auth' ? await this.#passwordHash(name) : undefined,
          commonName: o.mode === 'native-cert' ? g.user : undefined,
          networks: o.networks,
          maxExecutionTime: o.maxExecutionTime,
          quota: o.quota,
          access: g.access,
        });
      } catch (e) {
        // One grant that cannot be expressed (say, a CN XML cannot carry) must not stop the rest.
        desired.delete(name);
        o.logger.error({ grantId: g.grantId, err: (e as Error).message }, 'clickhouse user not written');
        o.audit.append('clickhouse.user.failed', `grant:${g.grantId}`, {
          service: o.service,
          reason: (e as Error).message,
        });
        continue;
      }
      const file = join(o.usersDir, usersFileName(name));
      if (this.#written.get(name) === xml && onDisk.has(name)) continue;
      const current = onDisk.has(name) ? await readFile(file, 'utf8').catch(() => '') : '';
      if (current !== xml) {
        await atomicWrite(file, xml, 0o644);
        changed = true;
        if (!this.#active.has(name)) {
          o.audit.append('clickhouse.user.created', `grant:${g.grantId}`, {
            service: o.service,
            clickhouseUser: name,
            engineer: g.user,
            mode: o.mode,
            access: g.access,
            notAfter: g.notAfter,
          });
        }
        o.logger.info({ clickhouseUser: name, grantId: g.grantId }, 'clickhouse user written');
      }
      this.#written.set(name, xml);
    }
    const removed: RemovedUser[] = [];
    for (const name of onDisk) {
      if (desired.has(name)) continue;
      await rm(join(o.usersDir, usersFileName(name)), { force: true });
      await rm(join(o.secretsDir, `${name}.password`), { force: true });
      changed = true;
      this.#written.delete(name);
      this.#passwords.delete(name);
      const grant = this.#active.get(name);
      removed.push({ user: name, grant });
      o.audit.append('clickhouse.user.removed', grant ? `grant:${grant.grantId}` : `clickhouse:${name}`, {
        service: o.service,
        clickhouseUser: name,
      });
      o.logger.info({ clickhouseUser: name, grantId: grant?.grantId }, 'clickhouse user removed');
    }
    for (const [name, g] of this.#active) {
      if (!desired.has(name) && !onDisk.has(name)) removed.push({ user: name, grant: g });
    }
    this.#active = desired;
    if (changed && o.reload) {
      await o
        .reload()
        .catch((e: unknown) => o.logger.warn({ err: (e as Error).message }, 'clickhouse reload failed'));
    }
    const next = Math.min(...[...desired.values()].map((g) => g.notAfter ?? Infinity));
    if (Number.isFinite(next) && !this.#closed)
      this.#expiry.mod(Math.min(MAX_TIMER_MS, Math.max(0, next - now)));
    else this.#expiry.del();
    o.onChange?.(desired, removed);
  }

  async #passwordHash(name: string): Promise<string> {
    let pw = this.#passwords.get(name);
    if (pw === undefined) {
      const file = join(this.#o.secretsDir, `${name}.password`);
      pw = (await readFile(file, 'utf8').catch(() => '')).trim();
      if (!/^[A-Za-z0-9_-]{32,}$/.test(pw)) {
        pw = randomBytes(32).toString('base64url');
        await mkdir(this.#o.secretsDir, { recursive: true, mode: 0o700 });
        await atomicWrite(file, pw + '\n', 0o600);
      }
      this.#passwords.set(name, pw);
    }
    return createHash('sha256').update(pw).digest('hex');
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#expiry.del();
    await this.#chain;
  }
}

/** tmp (dot-named, not *.xml: ClickHouse ignores it) + fsync + rename: readers see old or new. */
export async function atomicWrite(file: string, data: string, mode: number): Promise<void> {
  const tmp = join(dirname(file), `.${basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  const h = await open(tmp, 'w', mode);
  try {
    await h.writeFile(data);
    await h.sync();
  } finally {
    await h.close();
  }
  try {
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
