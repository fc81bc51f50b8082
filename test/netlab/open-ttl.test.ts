// The opens' IP TTL on a real socket (paths/udp-mux.ts): inside a network namespace, nftables
// counters on the output hook count datagrams to 127.0.0.1:9999 by IP TTL. A send inside
// withTtl(2) leaves with TTL 2, and the sends before and after it with the system's TTL — the
// socket option is put back in the same synchronous step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { needs, rootMissing } from '../../src/testing/require.ts';
import { NetnsLab, missingBinary } from '../../src/testing/netns.ts';

const SCRIPT = fileURLToPath(new URL('./ttl-send.ts', import.meta.url));

test(
  'withTtl(2): one datagram with TTL 2, the others with the system TTL',
  { timeout: 60_000 },
  async (t) => {
    if (!needs(t, rootMissing() ?? missingBinary('ip', 'nft'))) return;
    const lab = await NetnsLab.create({ prefix: 'spt' });
    t.after(() => lab.cleanup());
    const ns = await lab.namespace('ttl');
    await lab.exec(ns, ['ip', 'link', 'set', 'lo', 'up']);
    const ttl = Number((await lab.exec(ns, ['cat', '/proc/sys/net/ipv4/ip_default_ttl'])).stdout.trim());
    assert.notEqual(ttl, 2);
    await lab.exec(ns, ['nft', '-f', '-'], {
      input: [
        'table inet ttl {',
        '  chain out {',
        '    type filter hook output priority 0;',
        '    udp dport 9999 ip ttl 2 counter',
        `    udp dport 9999 ip ttl ${ttl} counter`,
        '  }',
        '}',
      ].join('\n'),
    });
    const r = await lab.exec(ns, [process.execPath, '--import', 'tsx', SCRIPT], { timeoutMs: 30_000 });
    const stats = JSON.parse(r.stdout) as { sent: { datagrams: number }; drops: Record<string, number> };
    assert.equal(stats.sent.datagrams, 3);
    assert.equal(stats.drops['ttl-unavailable'], 0);
    assert.equal(stats.drops['send-error'], 0);
    const rules = (await lab.exec(ns, ['nft', 'list', 'chain', 'inet', 'ttl', 'out'])).stdout;
    const count = (n: number) => Number(new RegExp(`ip ttl ${n} counter packets (\\d+)`).exec(rules)?.[1]);
    assert.equal(count(2), 1, rules);
    assert.equal(count(ttl), 2, rules);
  },
);
