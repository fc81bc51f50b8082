// The user a bearer token or console session belongs to, for every API's auth hook. Only a token the
// store does not accept (unknown, expired, user disabled) is a 401 with `message`; any other
// failure — the database unreachable during a failover — stays a server error, so a client is not
// told to log in again and does not throw its token away.
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
