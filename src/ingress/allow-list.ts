// The ingress IP allow list: CIDRs (IPv4 and IPv6) from flags and from a file, one per line
// ("# comment" and blank lines allowed). Nothing is allowed that no line names — everyone is
// `0.0.0.0/0` and `::/0`, written out. The file is read again when it changes (polled) or on
// reload() (SIGHUP); a file that does not parse is refused whole, with every bad line named, and
// the list in force stays.
import { readFileSync, statSync } from 'node:fs';
import type { Clock, TimerHandle } from '../clock/index.ts';
import { cidrContains, parseCidr, parseIp, type Cidr } from './address.ts';
import { IngressError } from './errors.ts';

/** Lines of an allow list at most (a list this long belongs in a firewall). */
export const MAX_ENTRIES = 10_000;

/** Parses allow-list text; throws INGRESS_ALLOWLIST naming every bad line. */
export function parseAllowList(text: string, source: string): Cidr[] {
  const out: Cidr[] = [];
  const bad: string[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) return;
    const c = parseCidr(line);
    if (c) out.push(c);
    else bad.push(`line ${i + 1}: '${line.slice(0, 80)}' is not an IP address or CIDR`);
  });
  if (bad.length)
    throw new IngressError(
      'INGRESS_ALLOWLIST',
      `${source}: ${bad.slice(0, 5).join('; ')}${bad.length > 5 ? `; and ${bad.length - 5} more` : ''}`,
    );
  if (out.length > MAX_ENTRIES)
    throw new IngressError('INGRESS_ALLOWLIST', `${source}: ${out.length} entries, more than ${MAX_ENTRIES}`);
  return out;
}

export interface AllowListOptions {
  /** CIDRs from flags (--allow). */
  cidrs?: readonly string[];
  /** A file of CIDRs (--allow-file), followed as it changes. */
  file?: string;
  clock: Clock;
  /** How often the file is checked for a change, ms; default 5000. */
  pollMs?: number;
  /** Each reload of the file: its outcome (for logs and a metric). */
  onReload?(result: { ok: true; entries: number } | { ok: false; error: IngressError }): void;
}

export class AllowList {
  readonly #o: AllowListOptions;
  readonly #fixed: Cidr[];
  #fromFile: Cidr[] = [];
  #stamp = '';
  #timer: TimerHandle | undefined;
  #stopped = false;

  /** Throws INGRESS_ALLOWLIST / INGRESS_CONFIG: a list that does not parse never starts. */
  constructor(o: AllowListOptions) {
    this.#o = o;
    this.#fixed = parseAllowList((o.cidrs ?? []).join('\n'), '--allow');
    if (o.file) {
      this.#fromFile = this.#read();
      this.#arm();
    }
    if (this.size === 0 && !o.file)
      throw new IngressError(
        'INGRESS_CONFIG',
        'the allow list is empty: nobody could connect. Give --allow CIDR (repeatable) or --allow-file FILE; to allow everyone write --allow 0.0.0.0/0 --allow ::/0',
      );
  }

  get size(): number {
    return this.#fixed.length + this.#fromFile.length;
  }

  /** The entries in force, as text. */
  entries(): string[] {
    return [...this.#fixed, ...this.#fromFile].map((c) => c.text);
  }

  /** Is the client address `ip` (text, as a socket or PROXY header gives it) allowed? */
  allows(ip: string): boolean {
    const b = parseIp(ip);
    if (!b) return false;
    for (const c of this.#fixed) if (cidrContains(c, b)) return true;
    for (const c of this.#fromFile) if (cidrContains(c, b)) return true;
    return false;
  }

  /** Reads the file again now (SIGHUP). */
  reload(): void {
    if (!this.#o.file || this.#stopped) return;
    try {
      this.#fromFile = this.#read();
      this.#o.onReload?.({ ok: true, entries: this.size });
    } catch (e) {
      this.#o.onReload?.({ ok: false, error: e as IngressError });
    }
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #read(): Cidr[] {
    const f = this.#o.file!;
    let text: string;
    try {
      const st = statSync(f);
      this.#stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
      text = readFileSync(f, 'utf8');
    } catch (e) {
      throw new IngressError('INGRESS_ALLOWLIST', `cannot read the allow list ${f}: ${(e as Error).message}`);
    }
    return parseAllowList(text, f);
  }

  #arm(): void {
    this.#timer = this.#o.clock.setTimeout(() => {
      if (this.#stopped) return;
      let stamp = '';
      try {
        const st = statSync(this.#o.file!);
        stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
      } catch {
        stamp = 'missing';
      }
      if (stamp !== this.#stamp) {
        this.#stamp = stamp;
        this.reload();
      }
      this.#arm();
    }, this.#o.pollMs ?? 5000);
  }
}
