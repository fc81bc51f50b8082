// Tells the coordinator, every REPORT_INTERVAL_MS, only when it changed, which path this node
// uses to each peer (direct, relay, none) and the round-trip time, so that the console can show
// what `sallyport status` shows locally. RTTs are compared at two significant digits: jitter alone
// sends nothing.
import { Timer, type Clock } from '../clock/index.ts';
import type { PeerPathReport } from '../proto/control/index.ts';

export const REPORT_INTERVAL_MS = 2_000;

const coarse = (ms: number | undefined): string => (ms === undefined ? '-' : ms.toPrecision(2));

export class PathReporter {
  readonly #timer: Timer;
  readonly #source: () => PeerPathReport[];
  readonly #send: (peers: PeerPathReport[]) => boolean;
  readonly #epoch: () => number;
  #last = '';

  constructor(
    clock: Clock,
    source: () => PeerPathReport[],
    send: (peers: PeerPathReport[]) => boolean,
    /** Changes when the agent channel reconnects: the coordinator then has nothing, send again. */
    epoch: () => number = () => 0,
  ) {
    this.#epoch = epoch;
    this.#source = source;
    this.#send = send;
    this.#timer = new Timer(clock, () => this.tick());
  }

  start(): void {
    this.#timer.mod(REPORT_INTERVAL_MS);
  }

  /** Sends the current view if it differs from the last one sent; re-arms. */
  tick(): void {
    const peers = this.#source().sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const sig = `${this.#epoch()}|` + peers.map((p) => `${p.key}:${p.path}:${coarse(p.rttMs)}`).join(' ');
    if (sig !== this.#last && this.#send(peers)) this.#last = sig;
    this.#timer.mod(REPORT_INTERVAL_MS);
  }

  stop(): void {
    this.#timer.del();
  }
}
