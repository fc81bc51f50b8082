#!/usr/bin/env node
// The container images' HEALTHCHECK for the coordinator and the relay: GET /health over HTTPS on
// loopback, exit 0 on a 200 within 4 s, else 1 (the reason on stderr).
//   node healthcheck.mjs coordinator   port from SALLYPORT_LISTEN (the image sets 0.0.0.0:8443)
//   node healthcheck.mjs relay         port from SALLYPORT_RELAY_LISTEN (the image sets 0.0.0.0:8443)
// SALLYPORT_HEALTH_URL overrides both, for a container started with its own --listen flag.
// The listener's certificate is not verified: the probe only asks whether this container's own
// process answers; it sends nothing secret and trusts nothing it reads.
import { request } from 'node:https';

const role = process.argv[2];
const envName = { coordinator: 'SALLYPORT_LISTEN', relay: 'SALLYPORT_RELAY_LISTEN' }[role];
if (!envName) {
  process.stderr.write('usage: healthcheck.mjs coordinator|relay\n');
  process.exit(2);
}

function healthUrl() {
  if (process.env.SALLYPORT_HEALTH_URL) return process.env.SALLYPORT_HEALTH_URL;
  const listen = process.env[envName] || '127.0.0.1:8443';
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen);
  if (!m) throw new Error(`${envName}=${listen} is not HOST:PORT; set SALLYPORT_HEALTH_URL`);
  const host = m[1] ?? m[2];
  // A wildcard listener answers on loopback.
  const probe =
    host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '[::1]' : m[1] ? `[${host}]` : host;
  return `https://${probe}:${m[3]}/health`;
}

try {
  const url = healthUrl();
  const req = request(url, { rejectUnauthorized: false, timeout: 4000 }, (res) => {
    res.resume();
    if (res.statusCode === 200) process.exit(0);
    process.stderr.write(`healthcheck: ${url} answered ${res.statusCode}\n`);
    process.exit(1);
  });
  req.on('timeout', () => req.destroy(new Error('no answer within 4 s')));
  req.on('error', (e) => {
    process.stderr.write(`healthcheck: ${url}: ${e.message}\n`);
    process.exit(1);
  });
  req.end();
} catch (e) {
  process.stderr.write(`healthcheck: ${e.message}\n`);
  process.exit(1);
}
