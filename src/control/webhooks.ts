// Outgoing webhooks for access notifications (request, decision, grant start, grant end) and
// incidents from Alertmanager (opened, resolved), with a
// Slack-compatible body `{ text, blocks }`. Sending never blocks a transaction: the coordinator
// enqueues after commit and returns. The queue is bounded (the oldest delivery is dropped and
// counted when full); a failed POST is retried with exponential backoff on the Clock, at most
// MAX_ATTEMPTS times per URL. `stop()` cancels the retry timer and aborts requests in flight.
//
//   enqueue ──► queue (≤ maxQueue) ──► one POST at a time ──► 2xx: done
//                    ▲                                     └─► else: back in after 1 s, 2 s, 4 s …
//                    └──────────────── retry timer ◄───────────┘   (attempt MAX_ATTEMPTS: dropped)
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Timer, type Clock } from '../clock/index.ts';
import type { AccessNotice } from '../store/index.ts';
import { ControlError } from './errors.ts';

/** An incident opened or closed by an Alertmanager delivery (src/control/alerts-api.ts). */
export interface IncidentNotice {
  readonly kind: 'notify';
  readonly topic: 'incident-open' | 'incident-close';
  readonly subject: string;
  readonly at: number;
  readonly text: string;
}

/** The public management endpoint used while the overlay was down (src/control/management.ts). */
export interface BreakGlassNotice {
  readonly kind: 'notify';
  readonly topic: 'break-glass';
  readonly subject: string;
  readonly at: number;
  readonly text: string;
}

/** Anything the webhooks send. */
export type Notice = AccessNotice | IncidentNotice | BreakGlassNotice;

export const MAX_ATTEMPTS = 5;
export const FIRST_BACKOFF_MS = 1000;
export const POST_TIMEOUT_MS = 5000;

export interface WebhookOptions {
  urls: readonly string[];
  clock: Clock;
  maxQueue?: number;
  /** Extra CA (PEM) for https receivers (tests). */
  ca?: string;
  onDrop?: (reason: 'queue-full' | 'gave-up') => void;
  onSent?: () => void;
  /** The console's base URL (requests and extensions get a link to it); undefined: no links. */
  consoleUrl?: () => string | undefined;
}

interface Delivery {
  url: string;
  body: string;
  attempts: number;
  /** Not before this wall time (ms). */
  due: number;
}

/**
 * Text for a Slack (or Slack-compatible) message that shows exactly as written: `&`, `<` and `>`
 * become entities (Slack's escaping rules), so no `<!channel>`, `<!here>`, `<@U…>` or
 * `<https://…|label>` can be formed; an `@` that begins a word gets a zero-width space after it,
 * so `@channel`, `@here` or `@someone` does not notify anyone on receivers that resolve plain
 * mentions. An `@` inside a word (an e-mail address) is left alone.
 */
export function slackEscape(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/(?<![\p{L}\p{N}_])@/gu, '@\u200b');
}

/**
 * Where the console shows a notification's request or extension (`/console/?open=KIND:ID#approvals`),
 * or undefined: other topics, no console URL, or a subject that is not KIND:ID with a plain id.
 */
export function consoleLink(n: Notice, consoleUrl: string | undefined): string | undefined {
  const m = /^(request|extension|grant):([A-Za-z0-9_-]{1,64})$/.exec(n.subject);
  if (!consoleUrl || !m) return undefined;
  const where = m[1] === 'grant' ? 'grants' : 'approvals';
  return `${new URL('/console/', consoleUrl).href}?open=${m[1]}:${m[2]}#${where}`;
}

/**
 * The Slack-compatible body of one notification; every piece of its text is escaped. With a
 * console URL, a request or extension gets a link that opens it there (approvers decide in one click).
 */
export function webhookBody(
  n: Notice,
  consoleUrl?: string,
): { text: string; blocks: unknown[]; url?: string } {
  const title: Record<Notice['topic'], string> = {
    request: 'Access requested',
    decision: 'Access decision',
    'grant-start': 'Access granted',
    'grant-end': 'Access ended',
    'incident-open': 'Incident opened',
    'incident-close': 'Incident resolved',
    'break-glass': 'Break-glass: public management endpoint used',
  };
  const body = slackEscape(n.text);
  const link = consoleLink(n, consoleUrl);
  // The link is made here from a checked id and this coordinator's URL: nothing of it comes from text.
  const text = `[sallyport] ${title[n.topic]}: ${body}${link ? ` <${link}|Open in the console>` : ''}`;
  return {
    text,
    ...(link ? { url: link } : {}),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*${title[n.topic]}*\n${body}` } },
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: `${n.topic} · ${slackEscape(n.subject)} · ${new Date(n.at).toISOString()}`,
          },
        ],
      },
      ...(link
        ? [
            {
              type: 'actions',
              elements: [
                { type: 'button', text: { type: 'plain_text', text: 'Open in the console' }, url: link },
              ],
            },
          ]
        : []),
    ],
  };
}

/** Checks webhook URLs (http or https, with a host). */
export function parseWebhookUrls(urls: readonly string[]): string[] {
  return urls.map((u) => {
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      throw new ControlError('CONFIG', `webhook ${JSON.stringify(u)} is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new ControlError('CONFIG', `webhook ${JSON.stringify(u)} must be http or https`);
    return url.toString();
  });
}

export class Webhooks {
  readonly #o: WebhookOptions;
  readonly #queue: Delivery[] = [];
  readonly #max: number;
  readonly #timer: Timer;
  #busy = false;
  #stopped = false;
  #inflight: AbortController | undefined;
  dropped = 0;
  sent = 0;

  constructor(opts: WebhookOptions) {
    this.#o = { ...opts, urls: parseWebhookUrls(opts.urls) };
    this.#max = opts.maxQueue ?? 1000;
    this.#timer = new Timer(opts.clock, () => void this.#pump());
  }

  get queued(): number {
    return this.#queue.length;
  }

  /** Queues one POST per URL (the configured ones, and `also`: e.g. a customer's); returns at once. */
  enqueue(notices: readonly Notice[], also: readonly string[] = []): void {
    const urls = [...new Set([...this.#o.urls, ...parseWebhookUrls(also)])];
    if (this.#stopped || urls.length === 0) return;
    for (const n of notices) {
      const body = JSON.stringify(webhookBody(n, this.#o.consoleUrl?.()));
      for (const url of urls) {
        if (this.#queue.length >= this.#max) {
          this.#queue.shift();
          this.dropped++;
          this.#o.onDrop?.('queue-full');
        }
        this.#queue.push({ url, body, attempts: 0, due: 0 });
      }
    }
    void this.#pump();
  }

  async #pump(): Promise<void> {
    if (this.#busy || this.#stopped) return;
    this.#busy = true;
    try {
      for (;;) {
        const now = this.#o.clock.wallMs();
        const i = this.#queue.findIndex((d) => d.due <= now);
        if (i < 0) break;
        const [d] = this.#queue.splice(i, 1);
        const ok = await this.#post(d);
        if (this.#stopped) return;
        if (ok) {
          this.sent++;
          this.#o.onSent?.();
          continue;
        }
        d.attempts++;
        if (d.attempts >= MAX_ATTEMPTS) {
          this.dropped++;
          this.#o.onDrop?.('gave-up');
          continue;
        }
        d.due = this.#o.clock.wallMs() + FIRST_BACKOFF_MS * 2 ** (d.attempts - 1);
        if (this.#queue.length < this.#max) this.#queue.push(d);
        else {
          this.dropped++;
          this.#o.onDrop?.('queue-full');
        }
      }
      const next = Math.min(...this.#queue.map((d) => d.due));
      if (Number.isFinite(next)) this.#timer.mod(Math.max(0, next - this.#o.clock.wallMs()));
    } finally {
      this.#busy = false;
    }
  }

  #post(d: Delivery): Promise<boolean> {
    const url = new URL(d.url);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const ac = new AbortController();
    this.#inflight = ac;
    const timer = this.#o.clock.setTimeout(() => ac.abort(), POST_TIMEOUT_MS);
    return new Promise<boolean>((resolve) => {
      const req = send(
        url,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(d.body) },
          signal: ac.signal,
          ...(this.#o.ca ? { ca: this.#o.ca } : {}),
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300));
          res.on('error', () => resolve(false));
        },
      );
      req.on('error', () => resolve(false));
      req.end(d.body);
    }).finally(() => {
      this.#o.clock.clearTimeout(timer);
      this.#inflight = undefined;
    });
  }

  stop(): void {
    this.#stopped = true;
    this.#timer.del();
    this.#inflight?.abort();
    this.#queue.length = 0;
  }
}
