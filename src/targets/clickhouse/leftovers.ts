// Grant users a connector wrote under an earlier config (fail closed, issue 13). Every users.d
// directory a clickhouse target writes to is remembered in the state directory
// (STATE/clickhouse/users-dirs.json) before the first file is written. At the next start the
// connector removes the grant users (`sallyport-sp_*.xml`, and their passwords) from every
// remembered directory that no configured clickhouse target uses any more: a service removed from
// the config, turned into kind=tcp, or pointed at another directory. Directories still in use are
// converged by their own target's reconciler.
//
//   record { dirs: [{ dir, service }] }   0600, written tmp + rename
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { LocalAuditSink } from '../types.ts';
import { userOfFile, usersFileName } from './names.ts';

interface Entry {
  dir: string;
  service: string;
}

export function recordFile(stateDir: string): string {
  return join(stateDir, 'clickhouse', 'users-dirs.json');
}

/** The service's own state directory (passwords, audit watermark): STATE/clickhouse/<service>. */
export function serviceStateDir(stateDir: string, service: string): string {
  return join(stateDir, 'clickhouse', service.replace(/[^A-Za-z0-9_.-]/g, '_'));
}

function read(stateDir: string): Entry[] {
  try {
    const v = JSON.parse(readFileSync(recordFile(stateDir), 'utf8')) as { dirs?: unknown };
    return Array.isArray(v.dirs)
      ? v.dirs.filter(
          (e): e is Entry =>
            typeof (e as Entry)?.dir === 'string' && typeof (e as Entry)?.service === 'string',
        )
      : [];
  } catch {
    return [];
  }
}

function write(stateDir: string, dirs: Entry[]): void {
  const f = recordFile(stateDir);
  mkdirSync(join(stateDir, 'clickhouse'), { recursive: true, mode: 0o700 });
  writeFileSync(`${f}.tmp`, JSON.stringify({ dirs }, null, 1) + '\n', { mode: 0o600 });
  renameSync(`${f}.tmp`, f);
}

/** Remembers that `service` writes grant users into `usersDir` (before it writes any). */
export function rememberUsersDir(stateDir: string, service: string, usersDir: string): void {
  const dirs = read(stateDir);
  const dir = resolve(usersDir);
  if (dirs.some((e) => e.dir === dir && e.service === service)) return;
  write(stateDir, [...dirs, { dir, service }]);
}

/**
 * Removes our grant users from every remembered directory not in `inUse`, and forgets the
 * directories it emptied. Returns the users removed. A directory that cannot be cleaned is kept
 * in the record (tried again at the next start) and logged as an error.
 */
export async function sweepLeftoverUsers(
  stateDir: string,
  inUse: ReadonlySet<string>,
  o: { logger: Logger; audit: LocalAuditSink },
): Promise<string[]> {
  const dirs = read(stateDir);
  const keep: Entry[] = [];
  const removed: string[] = [];
  const used = new Set([...inUse].map((d) => resolve(d)));
  for (const e of dirs) {
    if (used.has(e.dir)) {
      keep.push(e);
      continue;
    }
    try {
      const files = await readdir(e.dir).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return [];
        throw err;
      });
      for (const f of files) {
        const user = userOfFile(f);
        if (!user) continue;
        await rm(join(e.dir, usersFileName(user)), { force: true });
        await rm(join(serviceStateDir(stateDir, e.service), 'passwords', `${user}.password`), {
          force: true,
        });
        removed.push(user);
        o.audit.append('clickhouse.user.removed', `clickhouse:${user}`, {
          service: e.service,
          clickhouseUser: user,
          reason: 'no configured target uses this users.d directory any more',
        });
        o.logger.warn(
          { service: e.service, clickhouseUser: user, usersDir: e.dir },
          'clickhouse user left by an earlier config removed',
        );
      }
    } catch (err) {
      keep.push(e);
      o.logger.error(
        { service: e.service, usersDir: e.dir, err: (err as Error).message },
        'could not remove clickhouse users left by an earlier config',
      );
    }
  }
  if (keep.length !== dirs.length) write(stateDir, keep);
  return removed;
}
