// "host:port" / "[v6]:port" of a target, checked once when the connector reads its config.
import { TargetError } from '../errors.ts';

export function parseTargetAddress(s: string, service: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(s);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 1 && port <= 65535))
    throw new TargetError('TARGET_CONFIG', `service ${service}: address '${s}' is not HOST:PORT`);
  return { host: m[1] ?? m[2], port };
}
