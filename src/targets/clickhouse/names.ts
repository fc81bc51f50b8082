// ClickHouse user names and users.d file names for grants. In 18.16 a user's name is an XML
// element name in users.d, so it is drawn from [a-z0-9_] only, starts with `sp_`, and stays under
// MAX_USER_NAME characters; a short hash of (engineer, grant) keeps two grants whose sanitised
// parts collide apart.
//
//   sp_<engineer ≤ 20>_<grant ≤ 20>_<sha256(engineer \0 grant)[0..8]>     e.g. sp_alice_g_7f3a_1c9e02ab
import { createHash } from 'node:crypto';
import type { GrantIdentity } from '../types.ts';

export const USER_PREFIX = 'sp_';
/** Every users.d file this target writes starts with it; files without it are never touched. */
export const FILE_PREFIX = 'sallyport-';
export const MAX_USER_NAME = 63;
const PART = 20;

function sanitise(s: string): string {
  const out = s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, PART)
    .replace(/_+$/, '');
  return out || 'x';
}

/** The ClickHouse user of one grant. */
export function clickhouseUserName(g: Pick<GrantIdentity, 'user' | 'grantId'>): string {
  const h = createHash('sha256').update(`${g.user}\0${g.grantId}`).digest('hex').slice(0, 8);
  return `${USER_PREFIX}${sanitise(g.user)}_${sanitise(g.grantId)}_${h}`;
}

export function usersFileName(user: string): string {
  return `${FILE_PREFIX}${user}.xml`;
}

/** The user a users.d file name of ours stands for, or undefined when the file is not ours. */
export function userOfFile(file: string): string | undefined {
  const m = /^sallyport-(sp_[a-z0-9_]{1,60})\.xml$/.exec(file);
  return m?.[1];
}
