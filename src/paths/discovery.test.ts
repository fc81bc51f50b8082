import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { NetworkInterfaceInfo } from 'node:os';
import { FakeClock } from '../clock/index.ts';
import { Discovery } from './discovery.ts';

function nic(address: string, family: 'IPv4' | 'IPv6', internal = false): NetworkInterfaceInfo {
  const base = { address, netmask: '', mac: '00:00:00:00:00:00', internal, cidr: null };
  return family === 'IPv4' ? { ...base, family } : { ...base, family, scopeid: 0 };
}

describe('endpoint discovery', () => {
  test('interfaces paired with the port, STUN results first; loopback and link-local left out', () => {
    const clock = new FakeClock();
    let table: NodeJS.Dict<NetworkInterfaceInfo[]> = {
      lo: [nic('127.0.0.1', 'IPv4', true), nic('::1', 'IPv6', true)],
      eth0: [
        nic('10.0.0.2', 'IPv4'),
        nic('169.254.1.1', 'IPv4'),
        nic('fe80::1', 'IPv6'),
        nic('2001:db8::2', 'IPv6'),
      ],
    };
    const changes: string[][] = [];
    let netChanges = 0;
    const d = new Discovery({
      clock,
      port: 41641,
      interfaces: () => table,
      onChange: (c) => changes.push(c),
      onNetworkChange: () => netChanges++,
    });
    d.start();
    assert.deepEqual(d.candidates(), ['10.0.0.2:41641']);
    d.setStunResults(['203.0.113.5:61000', '203.0.113.5:61000']);
    assert.deepEqual(d.candidates(), ['203.0.113.5:61000', '10.0.0.2:41641']);
    d.setStunResults(['203.0.113.5:61000']);
    assert.equal(changes.length, 2, 'no event without a change');
    // the laptop roams: new address, detected by the next poll, STUN asked again
    table = { ...table, eth0: [nic('192.168.1.20', 'IPv4')] };
    clock.advance(4999);
    assert.equal(netChanges, 0);
    clock.advance(1);
    assert.equal(netChanges, 1);
    assert.deepEqual(changes.at(-1), ['203.0.113.5:61000', '192.168.1.20:41641']);
    clock.advance(50_000);
    assert.equal(netChanges, 1, 'a stable table is not a change');
    d.stop();
    assert.equal(clock.pending(), 0);
  });

  test('IPv6 and loopback on request; an unreadable table keeps the last list', () => {
    const clock = new FakeClock();
    let fail = false;
    const d = new Discovery({
      clock,
      port: 9,
      families: ['IPv4', 'IPv6'],
      includeLoopback: true,
      interfaces: () => {
        if (fail) throw new Error('EPERM');
        return { lo: [nic('127.0.0.1', 'IPv4', true)], eth0: [nic('2001:DB8::2', 'IPv6')] };
      },
    });
    d.start();
    assert.deepEqual(d.candidates(), ['[2001:db8::2]:9', '127.0.0.1:9']);
    fail = true;
    d.poll();
    assert.deepEqual(d.candidates(), ['[2001:db8::2]:9', '127.0.0.1:9']);
    d.stop();
    assert.throws(() => new Discovery({ clock, port: 0 }), { code: 'PATHS_OPTION_INVALID' });
  });
});
