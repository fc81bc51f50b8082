// The relay map and per-node relay tokens (contract: coordinator-signed, 1 h, refreshed before expiry).
import { PublicKey, type SigningKey } from '../crypto/index.ts';
import { issueRelayToken } from '../proto/relay/index.ts';
import type { NetmapRelay } from '../proto/control/index.ts';
import { ControlError } from './errors.ts';

export interface RelayConfig {
  region: string;
  url: string;
  stunPort?: number;
}

export const RELAY_TOKEN_LIFETIME_MS = 60 * 60_000;
/** Tokens are re-issued when less than this much lifetime remains. */
export const RELAY_TOKEN_REFRESH_MS = 15 * 60_000;

/** Parses `REGION=URL[,stun=PORT]`. */
export function parseRelaySpec(spec: string): RelayConfig {
  const m = /^([a-z0-9][a-z0-9-]{0,62})=(https:\/\/[^,\s]+)(?:,stun=(\d{1,5}))?$/.exec(spec);
  if (!m)
    throw new ControlError(
      'CONFIG',
      `--relay ${JSON.stringify(spec)}: expected REGION=https://HOST:PORT[,stun=PORT]`,
    );
  const r: RelayConfig = { region: m[1], url: m[2] };
  if (m[3]) {
    const port = Number(m[3]);
    if (port < 1 || port > 65535) throw new ControlError('CONFIG', `--relay ${spec}: bad STUN port`);
    r.stunPort = port;
  }
  return r;
}

/** Issues the relay entries (with fresh tokens) for one node key. */
export function relayEntries(
  relays: readonly RelayConfig[],
  nodeKey: string,
  key: SigningKey,
  nowMs: number,
): NetmapRelay[] {
  const pk = PublicKey.fromBase64(nodeKey);
  return relays.map((r) => {
    const expiresAtMs = nowMs + RELAY_TOKEN_LIFETIME_MS;
    const token = issueRelayToken({ nodeKey: pk, region: r.region, issuedAtMs: nowMs, expiresAtMs }, key);
    const e: NetmapRelay = {
      region: r.region,
      url: r.url,
      token: Buffer.from(token).toString('base64'),
      tokenExpiresAt: expiresAtMs,
    };
    if (r.stunPort !== undefined) e.stunPort = r.stunPort;
    return e;
  });
}
