// vnet: a deterministic in-memory datagram network for tests, driven by a FakeClock and a seeded PRNG.
//
//   VNet ── Scheduler (heap of arrivals, one FakeClock timer) ── Link (one direction: mtu, queue,
//   bandwidth, loss, delay, jitter, reordering, duplication; counters) ── pair() = two Links.
//
// Hosts with addresses, NATs (RFC 4787 mapping/filtering) and firewalls belong on top of Link:
// a Link carries `(data, meta)` and `meta` (addresses) is opaque to it. withSeed() gives a test its
// seed (SALLYPORT_SEED, else derived from the test's name) and prints it when the test fails.
export { VNet, VnetTimeoutError } from './vnet.ts';
export type { VEndpoint } from './vnet.ts';
export { Link, newLinkStats } from './link.ts';
export type { LinkOptions, LinkStats, LinkReceiver } from './link.ts';
export { Scheduler } from './scheduler.ts';
export type { Arrival, ArrivalSink } from './scheduler.ts';
export { Rng, mix32 } from './rng.ts';
export { testSeed, withSeed } from './seed.ts';
