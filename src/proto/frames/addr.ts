/**
 * Endpoint addresses inside path frames:
 *
 *   +--------+---------------------------+----------+
 *   | family | address (4 or 16 bytes)   | port u16 |
 *   | 4 or 6 | network byte order        | big end. |
 *   +--------+---------------------------+----------+
 *
 * In memory an endpoint is `{ address, port }` with the address as text: dotted quad for IPv4, the
 * RFC 5952 canonical form for IPv6 (lower case, longest run of zero groups shortened to `::`).
 */
import { formatAddress, parseAddress } from '../../util/ip.ts';
import { FrameError } from './errors.ts';

export { formatAddress, parseAddress };
import type { Reader, Writer } from './wire.ts';

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

export const FAMILY_V4 = 4;
export const FAMILY_V6 = 6;

/** Encoded size of an endpoint (family + address + port). */
export function endpointLength(e: Endpoint): number {
  return e.address.includes(':') ? 19 : 7;
}

export function writeEndpoint(w: Writer, e: Endpoint): void {
  const b = parseAddress(e.address);
  if (!b) throw new RangeError(`not an IP address: ${e.address}`);
  if (!Number.isInteger(e.port) || e.port < 0 || e.port > 0xffff) throw new RangeError(`bad port: ${e.port}`);
  w.u8(b.length === 4 ? FAMILY_V4 : FAMILY_V6);
  w.bytes(b);
  w.u16(e.port);
}

export function readEndpoint(r: Reader): Endpoint {
  const family = r.u8('an address family');
  if (family !== FAMILY_V4 && family !== FAMILY_V6)
    throw new FrameError('FRAME_MALFORMED', `unknown address family ${family}`);
  const address = formatAddress(r.bytes(family === FAMILY_V4 ? 4 : 16, 'an address'));
  return { address, port: r.u16('a port') };
}
