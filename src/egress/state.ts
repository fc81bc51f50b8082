// The state exporter: polls the service's state and spools a message when it changes, and a
// heartbeat when it has not changed for heartbeatMs. Each message has its own seq (never reused,
// kept in the spool directory), which becomes its deduplication id on the queue.
import type { Clock } from '../clock/index.ts';
import { Timer } from '../clock/index.ts';
import { EgressError } from './errors.ts';
import type { Spool } from './spool.ts';
import { checkName, NAME_RE } from './usage.ts';

export const HEALTH = ['ok', 'degraded', 'down', 'unknown'] as const;
export type Health = (typeof HEALTH)[number];

export interface ServiceState {
  health: Health;
  version: string | null;
  replicas: { ready: number; desired: number } | null;
  disk: { path: string; totalBytes: number; freeBytes: number } | null;
  lastError: string | null;
}

export interface StateMessage {
  v: 1;
  kind: 'state';
  deployment: string;
  host: string;
  seq: number;
  atMs: number;
  reason: 'start' | 'change' | 'heartbeat';
  state: ServiceState;
}

/** What counts as a change: everything but free disk space, which counts in whole percent. */
export function stateFingerprint(s: ServiceState): string {
  const usedPct =
    s.disk && s.disk.totalBytes > 0
      ? Math.floor((100 * (s.disk.totalBytes - s.disk.freeBytes)) / s.disk.totalBytes)
      : null;
  return JSON.stringify([s.health, s.version, s.replicas, s.disk?.path ?? null, usedPct, s.lastError]);
}

/** The queue's deduplication id and group of a spooled message body. */
export function stateIdsOfBody(body: Buffer): { dedupId: string; groupId: string } {
  let m: StateMessage;
  try {
    m = JSON.parse(body.toString('utf8')) as StateMessage;
  } catch (e) {
    throw new EgressError('EGRESS_BAD_RECORD', 'spooled state message is not JSON', { cause: e });
  }
  if (
    m?.kind !== 'state' ||
    !NAME_RE.test(m.deployment) ||
    !NAME_RE.test(m.host) ||
    !Number.isSafeInteger(m.seq)
  )
    throw new EgressError('EGRESS_BAD_RECORD', 'spooled body is not a state message');
  return { dedupId: `${m.deployment}.${m.host}.${m.seq}`, groupId: `${m.deployment}.${m.host}` };
}

export interface StateExporterOptions {
  clock: Clock;
  spool: Spool;
  /** Reads the current state (see state-source.ts); a throw is counted and published as unknown. */
  read: () => Promise<ServiceState>;
  deployment: string;
  host: string;
  /** How often the state is read (default 10 000 ms; at least 100). */
  pollMs?: number;
  /** A message at least this often even without a change (default 60 000 ms; ≥ pollMs). */
  heartbeatMs?: number;
  onSpooled?: (seq: number) => void;
  onError?: (err: unknown) => void;
}

export class StateStats {
  polls = 0;
  readErrors = 0;
  messages = 0;
  spoolFailures = 0;
}

export class StateExporter {
  readonly stats = new StateStats();
  readonly #o: Required<Omit<StateExporterOptions, 'onSpooled' | 'onError'>> &
    Pick<StateExporterOptions, 'onSpooled' | 'onError'>;
  readonly #timer: Timer;
  #busy: Promise<void> = Promise.resolve();
  #running = false;
  #last: { fp: string; atMs: number } | undefined;

  constructor(o: StateExporterOptions) {
    this.#o = { pollMs: 10_000, heartbeatMs: 60_000, ...o };
    checkName('deployment', o.deployment);
    checkName('host', o.host);
    const { pollMs, heartbeatMs } = this.#o;
    if (!Number.isFinite(pollMs) || pollMs < 100 || !Number.isFinite(heartbeatMs) || heartbeatMs < pollMs)
      throw new EgressError(
        'EGRESS_INVALID_OPTIONS',
        `poll ${pollMs} ms must be ≥ 100 and ≤ heartbeat ${heartbeatMs} ms`,
      );
    this.#timer = new Timer(o.clock, () => {
      this.#busy = this.#busy.then(() => this.#poll()).catch((e) => this.#o.onError?.(e));
      void this.#busy.then(() => {
        if (this.#running) this.#timer.mod(this.#o.pollMs);
      });
    });
  }

  async start(opts: { signal?: AbortSignal } = {}): Promise<void> {
    if (opts.signal?.aborted) throw new EgressError('EGRESS_ABORTED', 'state exporter: aborted before start');
    this.#running = true;
    await this.pollNow();
    this.#timer.mod(this.#o.pollMs);
  }

  /** Polls once now (tests; start uses it for the first message). */
  pollNow(): Promise<void> {
    this.#busy = this.#busy.then(() => this.#poll()).catch((e) => this.#o.onError?.(e));
    return this.#busy;
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#timer.del();
    await this.#busy;
  }

  async #poll(): Promise<void> {
    this.stats.polls++;
    let state: ServiceState;
    try {
      state = await this.#o.read();
    } catch (e) {
      this.stats.readErrors++;
      this.#o.onError?.(e);
      const msg = e instanceof Error ? e.message : String(e);
      state = { health: 'unknown', version: null, replicas: null, disk: null, lastError: msg.slice(0, 500) };
    }
    const now = this.#o.clock.now();
    const fp = stateFingerprint(state);
    let reason: StateMessage['reason'] | undefined;
    if (!this.#last) reason = 'start';
    else if (fp !== this.#last.fp) reason = 'change';
    else if (now - this.#last.atMs >= this.#o.heartbeatMs) reason = 'heartbeat';
    if (!reason) return;
    const { spool } = this.#o;
    const seq = await spool.reserveSeq();
    const msg: StateMessage = {
      v: 1,
      kind: 'state',
      deployment: this.#o.deployment,
      host: this.#o.host,
      seq,
      atMs: this.#o.clock.wallMs(),
      reason,
      state,
    };
    try {
      await spool.put(seq, Buffer.from(JSON.stringify(msg)));
      this.stats.messages++;
      this.#last = { fp, atMs: now };
      this.#o.onSpooled?.(seq);
    } catch (e) {
      if (!(e instanceof EgressError)) throw e;
      this.stats.spoolFailures++; // refuse-new: counted by the spool too; tried again next poll
      this.#o.onError?.(e);
    }
  }
}
