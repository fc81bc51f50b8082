// NAT traversal through real Linux NAT (netlab, root): how often a direct path forms, per router
// kind, with the agents' opens (a PING with IP TTL 2 before the first full PING, see
// src/paths/path-choice.ts "Opens") and without them (--nat-open-ttl 0: the naive order, where the
// first PING reaches the peer's router before that side has sent). The evidence behind the choice
// of opens in DESIGN.md §4 "Paths".
import type { Bench } from './framework.ts';
import { missingBinary } from '../src/testing/netns.ts';
import { fullRun, rootMissing } from '../src/testing/require.ts';
import { sleep, startOverlay } from '../test/netlab/overlay.ts';
import type { NetlabOptions } from '../src/testing/netlab.ts';

const TRIALS = Number(process.env.SALLYPORT_BENCH_TRAVERSAL_TRIALS ?? (fullRun ? 10 : 3));
/** A direct path must form within this long of the first stream to count. */
const WITHIN_MS = 5000;

const KINDS: { name: string; o: Partial<NetlabOptions> }[] = [
  { name: 'both routers bare masquerade', o: {} },
  { name: 'customer bare, engineer with an input firewall', o: { routerInputDrop: { engrtr: true } } },
  { name: 'both routers with an input firewall', o: { routerInputDrop: true } },
];

/** One trial: a fresh netlab, one small transfer, direct within WITHIN_MS? (ms, or null). */
async function trial(o: Partial<NetlabOptions>, opens: boolean): Promise<number | null> {
  const ov = await startOverlay({
    mib: 1,
    routeCustomerLan: false,
    ...o,
    ...(opens ? {} : { agentArgs: ['--nat-open-ttl', '0'] }),
  });
  try {
    const t0 = Date.now();
    const f = ov.fetch();
    for (const end = t0 + WITHIN_MS; Date.now() < end; await sleep(100)) {
      const p = await ov.engPeer();
      if (p?.path.kind === 'direct' && p.pathChange) {
        await f;
        return Date.parse(p.pathChange.at) - t0;
      }
    }
    await f;
    return null;
  } finally {
    await ov.lab.cleanup();
  }
}

export async function run(b: Bench): Promise<void> {
  const missing = rootMissing() ?? missingBinary('ip', 'nft', 'curl', 'python3');
  if (missing) {
    b.note(`traversal: skipped (${missing})`);
    return;
  }
  for (const k of KINDS) {
    const share: Record<'on' | 'off', number> = { on: 0, off: 0 };
    const times: number[] = [];
    for (let i = 0; i < TRIALS; i++)
      for (const opens of [false, true]) {
        const ms = await trial(k.o, opens);
        if (ms !== null) {
          share[opens ? 'on' : 'off']++;
          if (opens) times.push(ms);
        }
      }
    b.note(`traversal: ${k.name}: direct ${share.off}/${TRIALS} without opens, ${share.on}/${TRIALS} with`);
    b.report({
      name: `direct within ${WITHIN_MS / 1000} s, ${k.name}, without opens (--nat-open-ttl 0), share of ${TRIALS} trials`,
      value: share.off / TRIALS,
      unit: 'share',
    });
    b.report(
      {
        name: `direct within ${WITHIN_MS / 1000} s, ${k.name}, with opens (default), share of ${TRIALS} trials`,
        value: share.on / TRIALS,
        unit: 'share',
      },
      { text: 'every trial', met: (r) => r.value === 1 },
    );
    if (times.length)
      b.report({
        name: `time to direct from the first stream, ${k.name}, with opens (median), lower is better`,
        value: [...times].sort((x, y) => x - y)[Math.floor(times.length / 2)],
        unit: 'ms',
      });
  }
}
