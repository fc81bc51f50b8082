// The lab's SOCKS5 client against the engineer agent's own SOCKS5 server (src/agent/socks.ts):
// CONNECT by name, bytes both ways, and a refusal reported with its reply code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { pino } from 'pino';
import { REP_HOST_UNREACHABLE, SocksServer } from '../agent/socks.ts';
import { socks5Connect } from './client.ts';

/** A duplex that answers each write with its upper-case echo. */
function shouter(): Duplex {
  const d: Duplex = new Duplex({
    read() {},
    write(chunk: Buffer, _e, cb) {
      d.push(Buffer.from(chunk.toString('utf8').toUpperCase()));
      cb();
    },
    final(cb) {
      d.push(null);
      cb();
    },
  });
  return d;
}

test('socks5Connect: CONNECT by name through the agent SOCKS5 server, then bytes both ways', async () => {
  const asked: string[] = [];
  const srv = new SocksServer({
    logger: pino({ level: 'silent' }),
    open: (host, port) => {
      asked.push(`${host}:${port}`);
      return host === 'svc.acme.byoc.test' ? shouter() : REP_HOST_UNREACHABLE;
    },
  });
  const addr = await srv.listen('127.0.0.1', 0);
  try {
    const ctl = new AbortController();
    const s = await socks5Connect(addr, 'svc.acme.byoc.test', 443, ctl.signal);
    const got = await new Promise<string>((resolve) => {
      s.once('data', (b: Buffer) => resolve(b.toString()));
      s.write('hello');
    });
    assert.equal(got, 'HELLO');
    s.destroy();
    await assert.rejects(socks5Connect(addr, 'nope.byoc.test', 443, ctl.signal), /reply code 4/);
    assert.deepEqual(asked, ['svc.acme.byoc.test:443', 'nope.byoc.test:443']);
    const aborted = new AbortController();
    aborted.abort();
    await assert.rejects(socks5Connect(addr, 'svc.acme.byoc.test', 443, aborted.signal), /aborted/);
  } finally {
    srv.close();
  }
});
