// Validation of the names that go into certificates: DNS names, IP addresses, users, e-mail
// addresses and grant URIs. All refusals are PkiError NAME_INVALID.
import { isIP } from 'node:net';
import { PkiError } from './errors.ts';

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** A lower-case DNS host name (RFC 1123 labels, ≤ 253 octets, no wildcard); returned lower-cased. */
export function checkDnsName(name: string): string {
  const n = typeof name === 'string' ? name.toLowerCase() : '';
  if (n.length === 0 || n.length > 253 || !n.split('.').every((l) => LABEL.test(l))) {
    throw new PkiError('NAME_INVALID', `not a DNS host name: ${JSON.stringify(name).slice(0, 80)}`);
  }
  return n;
}

/** An IPv4 or IPv6 literal. */
export function checkIp(ip: string): string {
  if (typeof ip !== 'string' || isIP(ip) === 0) {
    throw new PkiError('NAME_INVALID', `not an IP address: ${JSON.stringify(ip).slice(0, 80)}`);
  }
  return ip;
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** A user name for a subject CN: 1–64 characters (ub-common-name), no control characters. */
export function checkCommonName(cn: string): string {
  if (typeof cn !== 'string' || cn.length === 0 || cn.length > 64 || CONTROL.test(cn)) {
    throw new PkiError('NAME_INVALID', `not a usable common name: ${JSON.stringify(cn).slice(0, 80)}`);
  }
  return cn;
}

const EMAIL = /^[A-Za-z0-9._%+-]{1,64}@(?=.{1,253}$)[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})+$/;

/** An ASCII e-mail address (an rfc822Name SAN). */
export function checkEmail(email: string): string {
  if (typeof email !== 'string' || !EMAIL.test(email)) {
    throw new PkiError('NAME_INVALID', `not an e-mail address: ${JSON.stringify(email).slice(0, 80)}`);
  }
  return email;
}

/** The SAN URI naming a grant: `sallyport:grant:<id>`, id of 1–128 of [A-Za-z0-9._-]. */
export const GRANT_URI = /^sallyport:grant:([A-Za-z0-9._-]{1,128})$/;

export function checkGrantUri(uri: string): string {
  if (typeof uri !== 'string' || !GRANT_URI.test(uri)) {
    throw new PkiError(
      'NAME_INVALID',
      `not a grant URI (sallyport:grant:<id>): ${JSON.stringify(uri).slice(0, 80)}`,
    );
  }
  return uri;
}
