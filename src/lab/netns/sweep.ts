// The sweep: what crashed earlier runs left behind (namespaces, root-namespace links, wireguard
// control sockets), recognised by the naming scheme of netns.ts and removed when its creator is gone.
import { readdirSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { WG_SOCKET_DIR, creatorAlive, exec, gone, processStartTicks, waitFor } from './proc.ts';

/** The default name prefix of namespaces and links. */
export const DEFAULT_PREFIX = 'sp';

export interface SweepResult {
  namespaces: string[];
  links: string[];
  sockets: string[];
  killed: number[];
}

/**
 * Removes what crashed earlier runs with this prefix left behind: their namespaces (after killing
 * the processes still inside them, by PID), their root-namespace links, and stale wireguard control
 * sockets. Leftovers of live runs are untouched.
 */
export async function sweepStale(
  prefix = DEFAULT_PREFIX,
  opts: { signal?: AbortSignal } = {},
): Promise<SweepResult> {
  const out: SweepResult = { namespaces: [], links: [], sockets: [], killed: [] };
  // Root links first (deleting one end removes its pair at once), then namespaces.
  const links = JSON.parse((await exec(undefined, ['ip', '-j', 'link', 'show'], opts)).stdout || '[]') as {
    ifname: string;
    ifalias?: string;
  }[];
  const aliasRe = new RegExp(`^sallyport ${prefix} (\\d+) (\\d+)$`);
  for (const l of links) {
    const pid = pidOfIfname(prefix, l.ifname);
    if (pid === undefined) continue;
    const m = aliasRe.exec(l.ifalias ?? '');
    // Only links carrying our alias (set right after creation) are ours; it also catches PID reuse.
    if (!m || Number(m[1]) !== pid || creatorAlive(pid, m[2])) continue;
    const r = await exec(undefined, ['ip', 'link', 'del', l.ifname], { ...opts, allowFailure: true });
    if (r.code === 0) out.links.push(l.ifname); // else it went with its pair
  }
  const nsRe = new RegExp(`^${prefix}-(\\d+)-(\\d+)-`);
  const list = await exec(undefined, ['ip', 'netns', 'list'], opts);
  for (const line of list.stdout.split('\n')) {
    const name = line.split(' ')[0];
    const m = nsRe.exec(name);
    if (!m || creatorAlive(Number(m[1]), m[2])) continue;
    const pids = await exec(undefined, ['ip', 'netns', 'pids', name], { ...opts, allowFailure: true });
    const killed: number[] = [];
    for (const p of pids.stdout.split(/\s+/).filter(Boolean).map(Number)) {
      try {
        process.kill(p, 'SIGKILL');
        killed.push(p);
      } catch {
        // already gone
      }
    }
    await waitFor('killed processes to exit', () => killed.every(gone), {
      ...opts,
      timeoutMs: 5000,
    }).catch(() => undefined);
    out.killed.push(...killed);
    await exec(undefined, ['ip', 'netns', 'del', name], { ...opts, allowFailure: true });
    out.namespaces.push(name);
  }
  // A SIGKILLed wireguard-go leaves its socket behind; its interface name carries the creator's PID.
  let sockets: string[] = [];
  try {
    sockets = readdirSync(WG_SOCKET_DIR);
  } catch {
    // no directory: nothing to sweep
  }
  for (const s of sockets) {
    const pid = pidOfIfname(prefix, s.replace(/\.sock$/, ''));
    if (!s.endsWith('.sock') || pid === undefined || processStartTicks(pid) !== undefined) continue;
    // Only a socket nobody answers on is removed (wg's own test for a stale socket); one whose
    // daemon was killed just above may take a moment to go dead.
    const path = join(WG_SOCKET_DIR, s);
    if (
      !(await waitFor(`${s} to go dead`, () => socketDead(path), { ...opts, timeoutMs: 2000 }).catch(
        () => false,
      ))
    )
      continue;
    try {
      unlinkSync(path);
      out.sockets.push(s);
    } catch {
      // raced with its owner
    }
  }
  return out;
}

function socketDead(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(path);
    c.once('connect', () => {
      c.destroy();
      resolve(false);
    });
    c.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
  });
}

/** The creator PID encoded in an interface name of this prefix, or undefined when it is not one. */
function pidOfIfname(prefix: string, name: string): number | undefined {
  const m = new RegExp(`^${prefix}([0-9a-z]{5})[0-9a-z]`).exec(name);
  return m ? parseInt(m[1], 36) : undefined;
}
