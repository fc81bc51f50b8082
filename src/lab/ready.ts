// What the lab prints once the story is told and it stays up: the console, the lab users and
// their passwords, and how to be the engineer by hand (curl through the SOCKS5 proxy with the
// grant's client certificate).
import { join } from 'node:path';
import { DEPLOYMENT, ENGINEER } from './cast.ts';
import type { LabService } from './service.ts';
import type { LabUser } from './topology.ts';

export interface ReadyInfo {
  consoleUrl: string;
  /** HTTP status of GET /console/ (0: no answer). */
  consoleStatus: number;
  dir: string;
  users: { alice: LabUser; bob: LabUser; admin: LabUser };
  socks5: { host: string; port: number } | undefined;
  /** Where the logs are; default DIR/lab.log. */
  logs?: string;
  /** --netns: the engineer's namespace, where the SOCKS5 proxy listens (curl runs there). */
  engineerNetns?: string;
  /** The request waiting in bob's inbox. */
  pending: string | undefined;
  /** The main service and its tailnet name. */
  main: { service: Pick<LabService, 'spec'>; tailnetName: string } | undefined;
}

export function readyLines(r: ReadyInfo): string[] {
  const cert = join(r.dir, 'alice-cert');
  const lines = [
    '',
    `console:  ${r.consoleUrl}` +
      (r.consoleStatus === 200 ? '' : `   (not answering: HTTP ${r.consoleStatus || 'none'})`),
    `          self-signed listener: its certificate is ${join(r.dir, 'coordinator', 'tls', 'cert.pem')}`,
    `users:    alice  ${r.users.alice.password}   on call: asks for access`,
    `          bob    ${r.users.bob.password}   sre-leads: approves`,
    `          admin  ${r.users.admin.password}   administrator`,
  ];
  if (r.pending)
    lines.push(
      `inbox:    request ${r.pending} by alice is pending: sign in to the console as bob to approve or deny it`,
    );
  if (r.socks5 && r.main) {
    const s = r.main.service;
    const url = `https://${r.main.tailnetName}/`;
    const tls = `--cacert ${cert}/ca.pem --cert ${cert}/cert.pem --key ${cert}/key.pem`;
    const proxy = `--socks5-hostname ${r.socks5.host}:${r.socks5.port}`;
    const curl = r.engineerNetns ? `ip netns exec ${r.engineerNetns} curl` : 'curl';
    lines.push(
      `engineer: alice's node: SOCKS5 ${r.socks5.host}:${r.socks5.port}` +
        (r.engineerNetns ? ` in namespace ${r.engineerNetns}` : '') +
        `; her grant certificate in ${cert}`,
      '          try it:',
      s.spec.kind === 'clickhouse'
        ? `          ${curl} ${proxy} ${tls} ${url} --data-binary 'SELECT name, engine FROM system.tables LIMIT 5'`
        : `          ${curl} ${proxy} ${tls} '${url}api/v1/query?query=up'`,
    );
    // The same with no certificate flags: the agent (its control socket) makes the certificate.
    if (s.spec.kind === 'clickhouse')
      lines.push(
        `          or: ${r.engineerNetns ? `ip netns exec ${r.engineerNetns} ` : ''}sallyport clickhouse ${DEPLOYMENT} --state ${join(r.dir, ENGINEER)} -- SELECT name, engine FROM system.tables LIMIT 5`,
      );
  }
  lines.push(`logs:     ${r.logs ?? join(r.dir, 'lab.log')}`, 'Ctrl-C stops everything the lab started.');
  return lines;
}
