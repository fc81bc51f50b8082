import { AccessError } from './errors.ts';

/** Ids of requests, grants and extensions: they end up in SAN URIs (`sallyport:grant:<id>`). */
export const ACCESS_ID = /^[A-Za-z0-9._-]{1,128}$/;

export function checkId(id: string, what: string): string {
  if (typeof id !== 'string' || !ACCESS_ID.test(id)) {
    throw new AccessError('ID_INVALID', `${what} id must be 1-128 of [A-Za-z0-9._-]`);
  }
  return id;
}
