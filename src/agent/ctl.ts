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
  | { cmd: 'cert'; grant: string };
export type CtlReply = { ok: true; [k: string]: unknown } | { ok: false; code: string; message: string };

export interface CtlHandler {
  /** Handles one request; `onClose` registers cleanup for when the client goes away. */
  handle(req: CtlRequest, onClose: (fn: () => void) => void): Promise<CtlReply>;
}

export function parseCtlRequest(line: string): CtlRequest {
  const v = JSON.parse(line) as Record<string, unknown>;
  if (v?.cmd === 'status') return { cmd: 'status' };
  if (v?.cmd === 'metrics') return { cmd: 'metrics' };
  if (v?.cmd === 'forward' && typeof v.service === 'string' && typeof v.local === 'string')
    return { cmd: 'forward', service: v.service, local: v.local };
  if (v?.cmd === 'cert' && typeof v.grant === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(v.grant))
    return { cmd: 'cert', grant: v.grant };
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
          h.handle(req, (fn) => cleanups.push(fn)).then(
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

/** One request to the running agent; resolves with the first reply and the open socket. */
export function ctlRequest(path: string, req: CtlRequest): Promise<{ reply: CtlReply; socket: Socket }> {
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
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      s.off('data', onData);
      try {
        resolve({ reply: JSON.parse(buf.slice(0, nl)) as CtlReply, socket: s });
      } catch (e) {
        reject(new AgentError('AGENT_CONTROL', 'malformed reply from the agent', { cause: e }));
      }
    };
    s.on('data', onData);
  });
}
