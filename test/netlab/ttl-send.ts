// Run inside a namespace by open-ttl.test.ts: one UdpMux on a real node:dgram socket sends three
// datagrams to 127.0.0.1:9999 — plain, inside withTtl(2), plain again — and prints the mux stats.
import { UdpMux, bindUdp } from '../../src/paths/index.ts';
import { directEndpoint } from '../../src/session/index.ts';

const socket = await bindUdp({ host: '127.0.0.1' });
const mux = new UdpMux({ socket, onWireGuard: () => {} });
const d = new Uint8Array([4, 0, 0, 0, 1, 2, 3, 4]);
const to = directEndpoint('127.0.0.1', 9999);
mux.send(d, to);
mux.withTtl(2, () => mux.send(d, to));
mux.send(d, to);
await new Promise((r) => setTimeout(r, 200));
process.stdout.write(JSON.stringify(mux.stats) + '\n');
mux.stop();
