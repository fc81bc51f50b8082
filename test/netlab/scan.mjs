// A small port scanner run inside a namespace: node scan.mjs '<json [{host, proto, port}]>' [timeoutMs]
// Prints JSON [{host, proto, port, result}] with result:
//   open      TCP connected / UDP answered
//   closed    TCP RST / ICMP port unreachable (the host answered, the port is shut)
//   filtered  nothing came back before the timeout (dropped)
import { connect } from 'node:net';
import { createSocket } from 'node:dgram';
import { setTimeout, clearTimeout } from 'node:timers';

const targets = JSON.parse(process.argv[2]);
const timeoutMs = Number(process.argv[3] ?? 1500);

function tcp(host, port) {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const t = setTimeout(() => (s.destroy(), resolve('filtered')), timeoutMs);
    s.once('connect', () => (clearTimeout(t), s.destroy(), resolve('open')));
    s.once('error', (e) => (clearTimeout(t), resolve(e.code === 'ECONNREFUSED' ? 'closed' : 'filtered')));
  });
}

function udp(host, port) {
  return new Promise((resolve) => {
    const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    let done = false;
    const end = (r) => {
      if (done) return;
      done = true;
      clearTimeout(t);
      s.close();
      resolve(r);
    };
    const t = setTimeout(() => end('filtered'), timeoutMs);
    s.on('message', () => end('open'));
    s.on('error', (e) => end(e.code === 'ECONNREFUSED' ? 'closed' : 'filtered'));
    s.connect(port, host, () => {
      // A STUN binding request and a WireGuard-sized junk datagram: whatever might answer.
      s.send(Buffer.from('000100002112a442000000000000000000000000', 'hex'));
      s.send(Buffer.alloc(148, 1));
    });
  });
}

const out = [];
for (let i = 0; i < targets.length; i += 32) {
  const batch = targets.slice(i, i + 32);
  const res = await Promise.all(
    batch.map((x) => (x.proto === 'udp' ? udp(x.host, x.port) : tcp(x.host, x.port))),
  );
  batch.forEach((x, k) => out.push({ ...x, result: res[k] }));
}
process.stdout.write(JSON.stringify(out));
