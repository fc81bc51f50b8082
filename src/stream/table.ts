/**
 * The connection's streams by id, and the stream-count limits (RFC 9000 §2.1, §4.6).
 *
 * Ids: index = floor(id / 2); the client opens even ids, the server odd ones, each side in order.
 * A frame for a peer index not seen yet opens it and every lower one (they are on their way); a
 * frame for an index below the next one with no entry is for a closed stream and is ignored.
 */
import { INITIAL_MAX_STREAMS } from './options.ts';
import type { StreamCore } from './stream.ts';

export type Lookup = StreamCore | 'closed' | 'never_opened' | 'over_limit';

export class StreamTable {
  readonly map = new Map<number, StreamCore>();
  readonly localParity: number;
  /** Next local index to hand out. */
  localNext = 0;
  /** The peer's MAX_STREAMS: we may open indexes below it. */
  localMax = INITIAL_MAX_STREAMS;
  /** Next peer index not seen yet. */
  peerNext = 0;
  /** Our MAX_STREAMS as advertised: the peer may open indexes below it. */
  peerMax = INITIAL_MAX_STREAMS;
  #peerClosed = 0;
  readonly #maxIncoming: number;

  constructor(isClient: boolean, maxIncoming: number) {
    this.localParity = isClient ? 0 : 1;
    this.#maxIncoming = maxIncoming;
  }

  get size(): number {
    return this.map.size;
  }

  /** Raises our advertised limit to the configured one; true when a MAX_STREAMS should go. */
  announce(): boolean {
    if (this.#maxIncoming <= this.peerMax) return false;
    this.peerMax = this.#maxIncoming;
    return true;
  }

  nextLocalId(): number {
    return this.localNext++ * 2 + this.localParity;
  }

  /** The stream a peer frame names, creating peer streams on first sight with `create`. */
  lookup(id: number, create: (id: number) => StreamCore): Lookup {
    const c = this.map.get(id);
    if (c) return c;
    const index = Math.floor(id / 2);
    if (id % 2 === this.localParity) return index >= this.localNext ? 'never_opened' : 'closed';
    if (index < this.peerNext) return 'closed';
    if (index >= this.peerMax) return 'over_limit';
    let core: StreamCore | undefined;
    for (let i = this.peerNext; i <= index; i++) {
      core = create(i * 2 + 1 - this.localParity);
      this.map.set(core.id, core);
    }
    this.peerNext = index + 1;
    return core!;
  }

  /** Drops a finished stream; true when the peer should get a larger MAX_STREAMS. */
  remove(core: StreamCore): boolean {
    this.map.delete(core.id);
    if (core.local) return false;
    this.#peerClosed++;
    const next = this.#peerClosed + this.#maxIncoming;
    if (next - this.peerMax < Math.max(1, this.#maxIncoming >> 3)) return false;
    this.peerMax = next;
    return true;
  }
}
