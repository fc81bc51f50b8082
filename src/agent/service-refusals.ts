// The services of this connector that the coordinator would not register (SERVICE_TAKEN: another
// live connector of the deployment serves them), for the log and `sallyport status`. An entry
// goes when the netmap shows the service served by this node (an administrator bound it here, or
// its holder was revoked and the next registration took it). Bounded by MAX_ENTRIES. While any
// refusal stands, the registration is sent again every retryMs, so the connector takes the service
// once it is free (the coordinator audits each refused attempt).
import { Timer, type Clock } from '../clock/index.ts';
import type { Netmap, ServerMessage } from '../proto/control/index.ts';

export const MAX_ENTRIES = 256;
/** Default time between two registrations while a refusal stands. */
export const SERVICE_RETRY_MS = 5 * 60_000;

export interface ServiceRefusal {
  service: string;
  code: string;
  message: string;
  /** Wall ms of the last refusal. */
  at: number;
}

export class ServiceRefusals {
  readonly #byService = new Map<string, ServiceRefusal>();
  readonly #timer: Timer;
  readonly #retryMs: number;

  /** `register()` sends this connector's services again (false when the channel is down). */
  constructor(clock: Clock, register: () => boolean, retryMs = SERVICE_RETRY_MS) {
    this.#retryMs = retryMs;
    this.#timer = new Timer(clock, () => {
      register();
      if (this.#byService.size) this.#timer.mod(this.#retryMs);
    });
  }

  /** Notes an error message about one of this node's services; true when it was one. */
  onMessage(m: ServerMessage, wallMs: number): boolean {
    if (m.type !== 'error' || m.service === undefined) return false;
    this.#byService.delete(m.service);
    if (this.#byService.size >= MAX_ENTRIES) this.#byService.delete(this.#byService.keys().next().value!);
    this.#byService.set(m.service, { service: m.service, code: m.code, message: m.message, at: wallMs });
    if (!this.#timer.pending) this.#timer.mod(this.#retryMs);
    return true;
  }

  /** Drops the refusals of services the netmap shows this node serving. */
  onNetmap(nm: Netmap, selfKey: string): void {
    for (const s of nm.services)
      if (s.connectorKey === selfKey && this.#byService.has(s.name)) this.#byService.delete(s.name);
    if (this.#byService.size === 0) this.#timer.del();
  }

  stop(): void {
    this.#timer.del();
  }

  list(): ServiceRefusal[] {
    return [...this.#byService.values()];
  }
}
