// An engineer's client certificate for one of its grants, over the agent channel (I9: the key is
// made here and never leaves; the coordinator signs the CSR with the access CA, CN = the grant's
// user, SAN URI = sallyport:grant:<id>, notAfter = the grant's end). Works for every grant the
// node's netmap lists, request-derived or standing.
import { randomBytes } from 'node:crypto';
import { Timer, type Clock } from '../clock/index.ts';
import { createKeyAndCsr } from '../pki/index.ts';
import type { ServerMessage } from '../proto/control/index.ts';
import { AgentError } from './errors.ts';

export interface GrantCertificate {
  grant: string;
  keyPem: string;
  /** Leaf and access CA, PEM. */
  chainPem: string;
  rootPem: string;
  notAfter: number;
}

export const GRANT_CERT_TIMEOUT_MS = 15_000;

type Waiter = { resolve(m: ServerMessage): void; timer: Timer };

export class GrantCerts {
  readonly #waiting = new Map<string, Waiter>();

  readonly #clock: Clock;
  readonly #send: (m: { type: 'csr'; id: string; csr: string; grant: string }) => boolean;

  constructor(clock: Clock, send: (m: { type: 'csr'; id: string; csr: string; grant: string }) => boolean) {
    this.#clock = clock;
    this.#send = send;
  }

  /** Feeds the coordinator's answers (certificate or error with our id). */
  onMessage(m: ServerMessage): void {
    const id = m.type === 'certificate' || m.type === 'error' ? m.id : undefined;
    const w = id === undefined ? undefined : this.#waiting.get(id);
    if (!w) return;
    this.#waiting.delete(id!);
    w.timer.del();
    w.resolve(m);
  }

  async request(grant: string, user: string): Promise<GrantCertificate> {
    const { keyPem, csrPem } = await createKeyAndCsr({ commonName: user });
    const id = `grant-${randomBytes(6).toString('hex')}`;
    const answer = new Promise<ServerMessage | undefined>((resolve) => {
      const timer = new Timer(this.#clock, () => {
        this.#waiting.delete(id);
        resolve(undefined);
      });
      timer.mod(GRANT_CERT_TIMEOUT_MS);
      this.#waiting.set(id, { resolve, timer });
    });
    if (!this.#send({ type: 'csr', id, csr: csrPem, grant })) {
      this.onMessage({ type: 'error', id, code: 'NOT_CONNECTED', message: 'the agent channel is down' });
    }
    const m = await answer;
    if (!m) throw new AgentError('AGENT_TIMEOUT', `no certificate for grant ${grant} within 15 s`);
    if (m.type === 'error') throw new AgentError('AGENT_REFUSED', `${m.code}: ${m.message}`);
    if (m.type !== 'certificate') throw new AgentError('AGENT_REFUSED', 'unexpected answer');
    return { grant, keyPem, chainPem: m.chainPem, rootPem: m.rootPem, notAfter: m.notAfter };
  }

  stop(): void {
    for (const w of this.#waiting.values()) w.timer.del();
    this.#waiting.clear();
  }
}
