// The netmap hub: one Session per connected node. A session holds the netmap last sent, and the
// hub pushes the full map on attach and deltas after. A change recomputes only the connected
// nodes that `affectedNodes` names, each from its own rows (never a whole-network map).
// Each session has one timer, armed at the next time-driven change of its map (a grant starting
// or ending, a key expiring) or relay-token refresh, whichever comes first.
import { Timer, type Clock } from '../clock/index.ts';
import type { SigningKey } from '../crypto/index.ts';
import type { Checkpoint } from '../audit/index.ts';
import type { NodeRecord, Store } from '../store/index.ts';
import { diffNetmap, type Netmap, type PeerPathReport, type ServerMessage } from '../proto/control/index.ts';
import { computeNetmap, nextTimeChange } from './netmap.ts';
import { affectedNodes, type Change } from './affected.ts';
import { RELAY_TOKEN_REFRESH_MS, relayEntries, type RelayConfig } from './relays.ts';
import type { Logger } from './logger.ts';
import type { ControlMetrics } from './metrics.ts';

/** Timers never wait longer than this (re-checking then): keeps real setTimeout in range. */
const MAX_TIMER_MS = 60 * 60_000;

/** Where a change was made: on this coordinator, or on another one sharing its database. */
export type ChangeOrigin = 'local' | 'remote';

export interface HubOptions {
  store: Store;
  clock: Clock;
  suffix: string;
  relays: readonly RelayConfig[];
  signingKey: SigningKey;
  logger: Logger;
  metrics: ControlMetrics;
  /** The audit key (base64) and its last checkpoint, sent to a connector when it connects. */
  audit?: { publicKey: string; latest(): Checkpoint | undefined };
}

/** A connector that connects is sent the break-glass records of its deployment of this long ago. */
export const NOTICE_WINDOW_MS = 30 * 24 * 3600_000;

export class Session {
  readonly nodeId: string;
  /** A connector that keeps audit checkpoints (hello feature 'anchors'): it is sent each one. */
  readonly anchors: boolean;
  /** A connector that keeps vendor notices (hello feature 'notices'): sent its deployment's break-glass records. */
  notices = false;
  readonly deploymentId: string | null;
  nodeKey: string;
  netmap: Netmap | undefined;
  version = 0;
  relays: Netmap['relays'] = [];
  /** The node's own report of its paths to its peers (agent `paths` message), with when it came. */
  paths: { at: number; peers: PeerPathReport[] } | undefined;
  readonly timer: Timer;
  readonly send: (m: ServerMessage) => void;
  readonly close: (reason: string) => void;
  /** Serialises recomputations of this session. */
  chain: Promise<void> = Promise.resolve();
  closed = false;

  constructor(
    node: NodeRecord,
    clock: Clock,
    send: Session['send'],
    close: Session['close'],
    onTimer: () => void,
    anchors = false,
  ) {
    this.nodeId = node.id;
    this.deploymentId = node.deploymentId;
    this.anchors = anchors;
    this.nodeKey = node.publicKey;
    this.send = send;
    this.close = close;
    this.timer = new Timer(clock, onTimer);
  }
}

export class Hub {
  readonly #o: HubOptions;
  readonly #sessions = new Map<string, Session>();
  readonly #listeners: ((c: Change, origin: ChangeOrigin) => void)[] = [];
  /** Netmaps computed so far (tests check that a change recomputes only the nodes it concerns). */
  computations = 0;

  constructor(opts: HubOptions) {
    this.#o = opts;
  }

  get size(): number {
    return this.#sessions.size;
  }

  /**
   * Calls `fn` with every change, before the netmaps it touches are recomputed: `local` for a
   * change made here, `remote` for one another coordinator made (fanout.ts).
   */
  onChange(fn: (c: Change, origin: ChangeOrigin) => void): void {
    this.#listeners.push(fn);
  }

  session(nodeId: string): Session | undefined {
    return this.#sessions.get(nodeId);
  }

  /** Registers a connected node (replacing an older channel of the same node) and sends its full netmap. */
  async attach(
    node: NodeRecord,
    send: Session['send'],
    close: Session['close'],
    opts: { anchors?: boolean; notices?: boolean } = {},
  ): Promise<Session> {
    const old = this.#sessions.get(node.id);
    if (old) this.detach(old, 'replaced by a new channel');
    const s: Session = new Session(
      node,
      this.#o.clock,
      send,
      close,
      () => void this.refresh(node.id),
      opts.anchors === true,
    );
    s.notices = opts.notices === true;
    this.#sessions.set(node.id, s);
    this.#o.metrics.sessions.set(this.#sessions.size);
    await this.refresh(node.id);
    const latest = this.#o.audit?.latest();
    if (latest && s.anchors && !s.closed) this.#sendCheckpoint(s, latest);
    if (s.notices && s.deploymentId) {
      // what happened while it was away (the overlay down is when a break-glass happens): the
      // last NOTICE_WINDOW_MS of them; the connector keeps each once
      const since = this.#o.clock.wallMs() - NOTICE_WINDOW_MS;
      for (const r of await this.#o.store.breakGlassSince(s.deploymentId, since))
        if (!s.closed)
          s.send({
            type: 'notice',
            id: r.seq,
            action: 'mgmt.break-glass',
            at: r.time,
            actor: r.actor,
            details: r.details,
          });
    }
    return s;
  }

  /** A break-glass of `deploymentId` (audit seq `id`): to its connected connectors that keep notices. */
  notice(deploymentId: string, n: Omit<Extract<ServerMessage, { type: 'notice' }>, 'type'>): void {
    for (const s of this.#sessions.values())
      if (s.notices && !s.closed && s.deploymentId === deploymentId) s.send({ type: 'notice', ...n });
  }

  /**
   * Pushes an audit checkpoint to every connected connector that keeps them (DESIGN.md "Audit
   * anchoring"; older agents would close the channel on the message, so only those whose hello
   * lists the 'anchors' feature): the customer's local audit keeps it as an anchor. It holds no
   * secret: seq, hash, time, key id and signature.
   */
  checkpoint(cp: Checkpoint): void {
    for (const s of this.#sessions.values()) if (s.anchors && !s.closed) this.#sendCheckpoint(s, cp);
  }

  #sendCheckpoint(s: Session, cp: Checkpoint): void {
    const { seq, hash, time, keyId, signature } = cp;
    s.send({
      type: 'checkpoint',
      checkpoint: { seq, hash, time, keyId, signature },
      publicKey: this.#o.audit!.publicKey,
    });
    this.#o.metrics.anchorsSent.inc();
  }

  detach(s: Session, reason: string): void {
    if (s.closed) return;
    s.closed = true;
    s.timer.del();
    if (this.#sessions.get(s.nodeId) === s) this.#sessions.delete(s.nodeId);
    this.#o.metrics.sessions.set(this.#sessions.size);
    s.close(reason);
  }

  /**
   * A change happened (already committed). Recomputes the connected nodes it affects; with
   * `cascade` (node or service changes) also the old and new peers of each recomputed node.
   */
  async changed(
    change: Change,
    cascade = change.type === 'node' || change.type === 'services' || change.type === 'user',
    origin: ChangeOrigin = 'local',
  ): Promise<void> {
    for (const fn of this.#listeners) fn(change, origin);
    const ids = await affectedNodes(change, this.#o.store);
    const done = new Set<string>();
    for (const id of ids) {
      if (done.has(id)) continue;
      const before = new Set(this.#sessions.get(id)?.netmap?.peers.map((p) => p.key));
      await this.refresh(id);
      done.add(id);
      if (!cascade) continue;
      const after = this.#sessions.get(id)?.netmap?.peers.map((p) => p.key) ?? [];
      // Peers of a node not connected here are found from its rows: recompute its netmap inputs.
      let keys = [...before, ...after];
      if (!this.#sessions.has(id)) {
        const inputs = await this.#o.store.netmapInputs(id);
        if (inputs)
          keys = keys.concat(
            computeNetmap(inputs, { now: this.#now(), suffix: this.#o.suffix, relays: [] }).peers.map(
              (p) => p.key,
            ),
          );
      }
      for (const peerId of await this.#o.store.nodeIdsOfKeys([...new Set(keys)])) {
        if (done.has(peerId)) continue;
        done.add(peerId);
        await this.refresh(peerId);
      }
    }
  }

  /** Recomputes the netmaps of those of `ids` that are connected here. */
  async refreshMany(ids: Iterable<string>): Promise<void> {
    for (const id of new Set(ids)) await this.refresh(id);
  }

  /** Ids of the connected nodes whose last netmap lists one of `keys` as a peer. */
  idsWithPeer(keys: ReadonlySet<string>): string[] {
    const out: string[] = [];
    for (const s of this.#sessions.values())
      if (s.netmap?.peers.some((p) => keys.has(p.key))) out.push(s.nodeId);
    return out;
  }

  /** Recomputes every connected node's netmap (after changes may have been missed). */
  async refreshAll(): Promise<void> {
    await this.refreshMany([...this.#sessions.keys()]);
  }

  /** Recomputes one connected node's netmap and sends the full map (first time) or a delta. */
  refresh(nodeId: string): Promise<void> {
    const s = this.#sessions.get(nodeId);
    if (!s) return Promise.resolve();
    s.chain = s.chain
      .then(() => this.#refresh(s))
      .catch((err: unknown) => {
        this.#o.logger.error({ err, node: s.nodeKey.slice(0, 8) }, 'netmap refresh failed');
        this.detach(s, 'internal error');
      });
    return s.chain;
  }

  async #refresh(s: Session): Promise<void> {
    if (s.closed) return;
    const t0 = this.#o.clock.now();
    const now = this.#now();
    const inputs = await this.#o.store.netmapInputs(s.nodeId);
    if (s.closed) return;
    if (!inputs) return this.detach(s, 'node deleted');
    if (inputs.self.revokedAt !== null) return this.detach(s, 'node revoked');
    if (inputs.self.expiresAt <= now) return this.detach(s, 'node key expired');
    const stale =
      s.relays.length !== this.#o.relays.length ||
      s.relays.some((r) => r.tokenExpiresAt - now <= RELAY_TOKEN_REFRESH_MS);
    if (stale) s.relays = relayEntries(this.#o.relays, s.nodeKey, this.#o.signingKey, now);
    const map = computeNetmap(inputs, { now, suffix: this.#o.suffix, relays: s.relays });
    this.computations++;
    if (!s.netmap) {
      s.version = 1;
      s.send({ type: 'netmap', version: s.version, netmap: map });
      this.#o.metrics.netmapsSent.inc({ kind: 'full' });
    } else {
      const delta = diffNetmap(s.netmap, map);
      if (delta) {
        s.version++;
        s.send({ type: 'delta', version: s.version, delta });
        this.#o.metrics.netmapsSent.inc({ kind: 'delta' });
      }
    }
    s.netmap = map;
    this.#o.metrics.netmapSeconds.observe((this.#o.clock.now() - t0) / 1000);
    // Arm the timer: next time-driven change or token refresh.
    let next = nextTimeChange(inputs, now);
    const refreshAt = Math.min(...s.relays.map((r) => r.tokenExpiresAt - RELAY_TOKEN_REFRESH_MS + 1));
    if (Number.isFinite(refreshAt) && (next === undefined || refreshAt < next)) next = refreshAt;
    if (next !== undefined) s.timer.mod(Math.min(Math.max(0, next - now), MAX_TIMER_MS));
    else s.timer.del();
  }

  /** Detaches every session. */
  stop(reason = 'coordinator stopping'): void {
    for (const s of [...this.#sessions.values()]) this.detach(s, reason);
  }

  #now(): number {
    return Math.floor(this.#o.clock.wallMs());
  }
}
