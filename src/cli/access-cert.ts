// `sallyport cert`: a client certificate for a grant, its key made on this machine (I9: it never
// leaves it) and signed by the coordinator, or with --agent made and fetched by the running agent;
// written as key.pem (0600), cert.pem (the chain) and ca.pem.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ctlRequest, socketPath, type AgentStatus, type CtlRequest } from '../agent/index.ts';
import type { ApiClient } from '../control/api-client.ts';
import { routes } from '../control/routes/index.ts';
import { createKeyAndCsr } from '../pki/index.ts';
import { stateDir } from './agent-common.ts';
import { Failed, UsageError, type CommandIo } from './kit/index.ts';
import { isoTime } from './table.ts';

/** Makes a key here, has the coordinator sign it for the grant (the only active one, or `args[0]`). */
export async function cert(
  api: ApiClient,
  args: string[],
  o: { out?: string; state?: string; json?: boolean },
  io: CommandIo,
): Promise<number> {
  const me = await api.route(routes.whoami);
  let id = args[0];
  if (id === undefined) {
    const mine = (await api.route(routes.accessGrantsList, { query: { status: 'active' } })).filter(
      (g) => g.subject === me.name,
    );
    if (mine.length === 0)
      throw new Failed(
        `you (${me.name}) hold no active grant: ask with 'sallyport request DEPLOYMENT --service NAME --reason "…" --for 1h', ` +
          "then see it approved with 'sallyport grants --status active'",
      );
    if (mine.length > 1)
      throw new UsageError(
        `you hold ${mine.length} active grants: name one (${mine.map((g) => g.id).join(', ')})`,
      );
    id = mine[0].id;
  }
  const progress = (s: string): void => {
    if (!o.json) io.stderr(`${s}\n`);
  };
  progress(`making a private key for grant ${id} on this machine (it never leaves it)…`);
  const { keyPem, csrPem } = await createKeyAndCsr({ commonName: me.name });
  progress('asking the coordinator to sign the certificate request…');
  const r = await api.route(routes.accessGrantsCertificate, { params: { id }, body: { csr: csrPem } });
  const dir = o.out ?? join(stateDir(o.state), 'certs', id);
  return writeCert(dir, id, { keyPem, ...r }, o, io);
}

/** Writes key.pem (0600), cert.pem (chain) and ca.pem to `dir` and says so. */
function writeCert(
  dir: string,
  grant: string,
  c: { keyPem: string; chainPem: string; rootPem: string; notAfter: number; serial?: string },
  o: { json?: boolean },
  io: CommandIo,
): number {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keyFile = join(dir, 'key.pem');
  writeFileSync(keyFile, c.keyPem, { mode: 0o600 });
  chmodSync(keyFile, 0o600);
  writeFileSync(join(dir, 'cert.pem'), c.chainPem);
  writeFileSync(join(dir, 'ca.pem'), c.rootPem);
  if (o.json)
    io.stdout(
      JSON.stringify(
        { grant, dir, ...(c.serial !== undefined ? { serial: c.serial } : {}), notAfter: c.notAfter },
        null,
        2,
      ) + '\n',
    );
  else
    io.stdout(
      `certificate for grant ${grant} in ${dir} (key.pem, cert.pem, ca.pem), valid until ${isoTime(c.notAfter)}\n`,
    );
  return 0;
}

/** `cert --agent`: the running agent makes the key and asks over its agent channel. */
export async function certViaAgent(
  args: string[],
  o: { out?: string; state?: string; json?: boolean },
  io: CommandIo,
): Promise<number> {
  const state = stateDir(o.state);
  const ask = async (req: CtlRequest) => {
    let r;
    try {
      r = await ctlRequest(socketPath(state), req);
    } catch (e) {
      throw new Failed(`${(e as Error).message}: is 'sallyport agent --state ${state}' running?`);
    }
    r.socket.destroy();
    if (!r.reply.ok) throw new Failed(`the agent refused: ${r.reply.code}: ${r.reply.message}`);
    return r.reply;
  };
  let id = args[0];
  if (id === undefined) {
    const st = (await ask({ cmd: 'status' })).status as AgentStatus;
    const ids = [...new Set(st.grants.map((g) => g.id))];
    if (ids.length !== 1)
      throw new UsageError(
        ids.length === 0
          ? "this node's netmap holds no grant: request one, or ask for a standing grant"
          : `this node holds ${ids.length} grants: name one (${ids.join(', ')})`,
      );
    id = ids[0];
  }
  if (!o.json) io.stderr(`asking the agent for a certificate for grant ${id} (key made by the agent)…\n`);
  const c = (await ask({ cmd: 'cert', grant: id })).cert as {
    keyPem: string;
    chainPem: string;
    rootPem: string;
    notAfter: number;
  };
  const dir = o.out ?? join(state, 'certs', id);
  return writeCert(dir, id, c, o, io);
}
