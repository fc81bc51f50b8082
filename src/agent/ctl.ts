// The local control socket: a unix socket (0600) in the state directory, speaking one JSON object
// per line. `sallyport status` and `sallyport connect` talk to the running agent through it.
//
//   → {"cmd":"status"}                                   ← {"ok":true,"status":{...}}
//   → {"cmd":"metrics"}                                  ← {"ok":true,"text":"<Prometheus text>"}
//   → {"cmd":"forward","service":"dep/svc","local":"127.0.0.1:8080"}
//                                                        ← {"ok":true,"local":"127.0.0.1:8080"}
//     (the forward lives while this connection stays open)
//   → {"cmd":"cert","grant":"ID"}                        ← {"ok":true,"cert":{grant,keyPem,chainPem,rootPem,notAfter}}
//     (engineer: a client certificate for a grant in its netmap; the key is made by the agent)
//   → {"cmd":"ping","peer":"NAME|KEY-PREFIX","count":5,"intervalMs":1000,"timeoutMs":2000}
//                                                        ← {"ok":true,"progress":{seq,via,to,rttMs}} per PING
//                                                        ← {"ok":true,"ping":{peer,replies,path,why,candidates}}
//   → {"cmd":"netcheck","timeoutMs":3000}                ← {"ok":true,"netcheck":{...}}
//   errors: ← {"ok":false,"code":"...","message":"..."}
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { AgentError } from './errors.ts';

/** Longest request line accepted. */
const MAX_LINE = 4096;

export type CtlRequest =
  | { cmd: 'status' }
  | { cmd: 'metrics' }
  | { cmd: 'forward'; service: string; local: string }
  | { cmd: 'cert'; grant: string }
  | { cmd: 'ping'; peer: string; count: number; intervalMs: number; timeoutMs: number }
  | { cmd: 'netcheck'; timeoutMs: number };
export type CtlReply = { ok: true; [k: string]: unknown } | { ok: false; code: string; message: string };

export interface CtlHandler {
  /**
   * Handles one request; `onClose` registers cleanup for when the client goes away; `progress`
   * sends an intermediate `{"ok":true,"progress":…}` line before the reply.
   */
  handle(
    req: CtlRequest,
    onClose: (fn: () => void) => void,
    progress: (p: unknown) => void,
  ): Promise<CtlReply>;
}

/** An integer field in [min, max], or `dflt` when absent; anything else refuses the request. */
function intField(v: Record<string, unknown>, k: string, dflt: number, min: number, max: number): number {
  const x = v[k] ?? dflt;
  if (typeof x !== 'number' || !Number.isInteger(x) || x < min || x > max)
    throw new AgentError('AGENT_CONTROL', `${k} must be an integer ${min}..${max}`);
  return x;
}

export function parseCtlRequest(line: string): CtlRequest {
  const v = JSON.parse(line) as Record<string, unknown>;
  if (v?.cmd === 'status') return { cmd: 'status' };
  if (v?.cmd === 'metrics') return { cmd: 'metrics' };
  if (v?.cmd === 'forward' && typeof v.service === 'string' && typeof v.local === 'string')
    return { cmd: 'forward', service: v.service, local: v.local };
  if (v?.cmd === 'cert' && typeof v.grant === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(v.grant))
    return { cmd: 'cert', grant: v.grant };
  if (v?.cmd === 'ping' && typeof v.peer === 'string' && v.peer.length > 0 && v.peer.length <= 256)
    return {
      cmd: 'ping',
      peer: v.peer,
      count: intField(v, 'count', 5, 1, 1000),
      intervalMs: intField(v, 'intervalMs', 1000, 10, 60_000),
      timeoutMs: intField(v, 'timeoutMs', 2000, 10, 60_000),
    };
  if (v?.cmd === 'netcheck')
    return { cmd: 'netcheck', timeoutMs: intField(v, 'timeoutMs', 3000, 100, 60_000) };
  throw new AgentError('AGENT_CONTROL', 'unknown or malformed request');
}

export class CtlServer {
  readonly #server: Server;
  readonly #path: string;
  readonly #sockets = new Set<Socket>();

  constructor(path: string, h: CtlHandler) {
    this.#path = path;
    this.#server = createServer((s) => {
      this.#sockets.add(s);
      const cleanups: (() => void)[] = [];
      s.on('close', () => {
        this.#sockets.delete(s);
        for (const f of cleanups) f();
      });
      s.on('error', () => s.destroy());
      let buf = '';
      s.setEncoding('utf8');
      s.on('data', (chunk: string) => {
        buf += chunk;
        if (buf.length > MAX_LINE) return void s.destroy();
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          let req: CtlRequest;
          try {
            req = parseCtlRequest(line);
          } catch (e) {
            s.write(JSON.stringify({ ok: false, code: 'BAD_REQUEST', message: (e as Error).message }) + '\n');
            continue;
          }
          const progress = (p: unknown): void => {
            if (!s.destroyed) s.write(JSON.stringify({ ok: true, progress: p }) + '\n');
          };
          h.handle(req, (fn) => cleanups.push(fn), progress).then(
            (r) => s.write(JSON.stringify(r) + '\n'),
            (e: Error) =>
              s.write(
                JSON.stringify({ ok: false, code: (e as AgentError).code ?? 'ERROR', message: e.message }) +
                  '\n',
              ),
          );
        }
      });
    });
  }

  listen(): Promise<void> {
    if (existsSync(this.#path)) unlinkSync(this.#path);
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#path, () => {
        chmodSync(this.#path, 0o600);
        resolve();
      });
    });
  }

  close(): void {
    this.#server.close();
    for (const s of this.#sockets) s.destroy();
    try {
      unlinkSync(this.#path);
    } catch {
      /* already gone */
    }
  }
}

/**
 * One request to the running agent; resolves with the first reply that is not progress, and the
 * open socket. Progress lines go to `onProgress`.
 */
export function ctlRequest(
  path: string,
  req: CtlRequest,
  onProgress?: (p: unknown) => void,
): Promise<{ reply: CtlReply; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const s = createConnection(path);
    let buf = '';
    s.setEncoding('utf8');
    s.once('error', (e) =>
      reject(
        new AgentError(
          'AGENT_CONTROL',
          `no agent answers on ${path} (${(e as NodeJS.ErrnoException).code ?? e.message}); is 'sallyport agent' running?`,
        ),
      ),
    );
    s.on('connect', () => s.write(JSON.stringify(req) + '\n'));
    const onData = (chunk: string): void => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let reply: CtlReply & { progress?: unknown };
        try {
          reply = JSON.parse(line) as CtlReply & { progress?: unknown };
        } catch (e) {
          s.off('data', onData);
          return reject(new AgentError('AGENT_CONTROL', 'malformed reply from the agent', { cause: e }));
        }
        if (reply.ok && 'progress' in reply) {
          onProgress?.(reply.progress);
          continue;
        }
        s.off('data', onData);
        return resolve({ reply, socket: s });
      }
    };
    s.on('data', onData);
  });
}
