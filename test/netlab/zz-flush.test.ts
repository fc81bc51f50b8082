import { test } from 'node:test';
import { sleep, startOverlay } from './overlay.ts';
test('flush recovery', { timeout: 400_000 }, async (t) => {
  const ov = await startOverlay({ mib: 16, routeCustomerLan: false });
  t.after(() => ov.lab.cleanup());
  await ov.fetch();
  const during = ov.fetch({ limitRate: '4M' });
  await sleep(1000);
  await ov.lab.flushConntrack('custrtr');
  await ov.lab.flushConntrack('engrtr');
  await during;
  const t0 = Date.now();
  for (let i = 0; i < 60; i++) {
    const p = await ov.engPeer();
    console.log(Math.round((Date.now() - t0) / 1000), p?.path.kind, p?.pathState, p?.pathWhy?.slice(0, 80));
    if (p?.path.kind === 'direct' && i > 3) break;
    await sleep(5000);
  }
});
