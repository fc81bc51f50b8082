// The user a bearer token or console session belongs to, for every API's auth hook. Only a token the
// store does not accept (unknown, expired, user disabled) is a 401 with `message`; any other
// failure — the database unreachable during a failover — stays a server error, so a client is not
// told to log in again and does not throw its token away.
import type { FastifyRequest } from 'fastify';
import { StoreError, type Store, type UserRecord } from '../store/index.ts';
import { ControlError } from './errors.ts';

export async function userForBearer(store: Store, token: string, message: string): Promise<UserRecord> {
  try {
    return await store.userForToken(token);
  } catch (e) {
    if (e instanceof StoreError && e.code === 'AUTH') throw new ControlError('UNAUTHORIZED', message);
    throw e;
  }
}

/**
 * The preHandler every API route uses: `Authorization: Bearer TOKEN` names a signed-in user, set as
 * `req.user`; with `admin`, that user must be an administrator (403 otherwise).
 */
export function bearerAuth(store: Store, admin: boolean): (req: FastifyRequest) => Promise<void> {
  return async (req) => {
    const h = req.headers.authorization;
    const m = typeof h === 'string' ? /^Bearer ([A-Za-z0-9_-]{8,200})$/.exec(h) : null;
    if (!m) throw new ControlError('UNAUTHORIZED', 'missing bearer token: sallyport admin login');
    req.user = await userForBearer(store, m[1], 'bearer token unknown or expired: log in again');
    if (admin && !req.user.isAdmin) throw new ControlError('FORBIDDEN', 'this needs an administrator');
  };
}
