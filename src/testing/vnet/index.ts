// vnet: a deterministic in-memory datagram network for tests, driven by a FakeClock and a seeded PRNG.
//
//   VNet ── Scheduler (heap of arrivals, one FakeClock timer) ── Link (one direction: mtu, queue,
//   bandwidth, loss, delay, jitter, reordering, duplication; counters) ── pair() = two Links.
//
// On top of Link (whose `meta` is a Packet: src, dst, ttl): segments, hosts with UDP sockets
// (VSocket), plain routers, RFC 4787 NATs (mapping, filtering, port assignment, timeouts,
// hairpinning, flush, rebinding) and UDP-dropping firewalls; a STUN reflector to look at mappings.
// withSeed() gives a test its seed (SALLYPORT_SEED, else derived from the test's name) and prints
// it when the test fails.
export { VNet, VnetTimeoutError } from './vnet.ts';
export type { VEndpoint } from './vnet.ts';
export { Link, newLinkStats } from './link.ts';
export type { LinkOptions, LinkStats, LinkReceiver } from './link.ts';
export { Scheduler } from './scheduler.ts';
export type { Arrival, ArrivalSink } from './scheduler.ts';
export { Rng, mix32 } from './rng.ts';
export { testSeed, withSeed } from './seed.ts';
export { VnetError, epKey, sameEndpoint, DEFAULT_TTL } from './addr.ts';
export type { Endpoint, Packet } from './addr.ts';
export { Segment, Iface } from './segment.ts';
export type { NetNode, SegmentStats } from './segment.ts';
export { Host } from './host.ts';
export type { VSocket, HostStats, AttachOptions } from './host.ts';
export type { Firewall, UdpBlock } from './firewall.ts';
export { Nat } from './nat.ts';
export type { NatOptions, NatStats, NatSettings } from './nat.ts';
export { NatTable, DEFAULT_MAPPING_TIMEOUT_MS, NAT_PRESETS } from './nat-table.ts';
export type {
  NatBehavior,
  MappingBehavior,
  FilteringBehavior,
  PortAssignment,
  MappingInfo,
} from './nat-table.ts';
export { Router } from './router.ts';
export type { RouterOptions, RouterStats } from './router.ts';
export { Topology } from './topology.ts';
export type { HostOptions, LinkFactory } from './topology.ts';
export { stunReflector, stunQuery, stunMappedAddress, STUN_PORT } from './stun.ts';
export type { Reflector, StunQuery } from './stun.ts';
