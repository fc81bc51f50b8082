import { SallyportError } from '../../util/index.ts';

/** A setup mistake in a vnet topology (bad address, port in use, duplicate name). Never per packet. */
export class VnetError extends SallyportError {}

/** A UDP transport address on the vnet (IPv4 only). */
export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/** What a Link carries beside the payload: the IP and UDP header fields the vnet models. */
export interface Packet {
  readonly src: Endpoint;
  readonly dst: Endpoint;
  /** Hops left; each router takes one and drops the packet at zero (no routing loop lives forever). */
  readonly ttl: number;
}

export const DEFAULT_TTL = 64;

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Throws VnetError unless `a` is a dotted-quad IPv4 address (no leading zeros). */
export function checkIPv4(a: string, what = 'address'): string {
  if (!IPV4.test(a))
    throw new VnetError('VNET_BAD_ADDRESS', `${what} ${JSON.stringify(a)} is not an IPv4 address`);
  return a;
}

export function checkPort(p: number, what = 'port'): number {
  if (!Number.isInteger(p) || p < 0 || p > 0xffff)
    throw new VnetError('VNET_BAD_PORT', `${what} ${p} is not in [0, 65535]`);
  return p;
}

/** `address:port`, the map key and the way endpoints print. */
export function epKey(e: Endpoint): string {
  return `${e.address}:${e.port}`;
}

export function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.address === b.address && a.port === b.port;
}
