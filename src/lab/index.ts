// `sallyport lab`: the whole topology on one machine. Until the overlay lands, the lab runs what
// exists for real: two nodes on loopback UDP, each with a WireGuard-exact session and the stream
// layer on top, a handshake, and a transfer checked by SHA-256.
import dgram from 'node:dgram';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { realClock } from '../clock/index.ts';
import { PrivateKey } from '../crypto/index.ts';
import { SessionHost, type SessionEvent } from '../session/index.ts';
import { Connection, type Stream } from '../stream/index.ts';

export const LAB_HELP = `usage: sallyport lab [--mib N] [--json]

Runs the local lab. Today: two nodes on loopback UDP with WireGuard-exact sessions and the stream
layer, a handshake and an N MiB transfer (default 64) checked by SHA-256. The overlay (coordinator,
relay, agents) runs by hand on one machine with docs/quickstart.sh; it joins the lab next, then the
targets.

Example:
  sallyport lab --mib 16
`;

interface Node {
  sock: dgram.Socket;
  host: SessionHost;
  conn?: Connection;
  events: SessionEvent[];
}

async function node(): Promise<Node> {
  const sock = dgram.createSocket('udp4');
  sock.bind(0, '127.0.0.1');
  await once(sock, 'listening');
  const n: Node = { sock, events: [], host: undefined as unknown as SessionHost };
  n.host = new SessionHost({
    clock: realClock,
    privateKey: PrivateKey.generate(),
    send: (d, to) => {
      const i = to.lastIndexOf(':');
      sock.send(d, Number(to.slice(i + 1)), to.slice(0, i));
    },
    onPayload: (_peer, payload) => n.conn?.receiveDatagram(new Uint8Array(payload)),
    onEvent: (ev) => n.events.push(ev),
  });
  sock.on('message', (m, r) => n.host.receive(m, `${r.address}:${r.port}`));
  return n;
}

export async function runLab(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(LAB_HELP);
    return 0;
  }
  const i = argv.indexOf('--mib');
  const mib = i >= 0 ? Number(argv[i + 1]) : 64;
  if (!Number.isInteger(mib) || mib < 1 || mib > 4096) {
    process.stderr.write('sallyport lab: --mib takes a whole number from 1 to 4096\n');
    return 2;
  }
  const json = argv.includes('--json');
  const say = (s: string) => json || process.stdout.write(s + '\n');

  const eng = await node();
  const con = await node();
  const addr = (n: Node) => `127.0.0.1:${n.sock.address().port}`;
  const peerOfEng = eng.host.addPeer(con.host.publicKey, { endpoint: addr(con) });
  const peerOfCon = con.host.addPeer(eng.host.publicKey, { endpoint: addr(eng) });
  const mds = 1400;
  let accepted: (s: Stream) => void = () => undefined;
  const incoming = new Promise<Stream>((r) => (accepted = r));
  con.conn = new Connection({
    clock: realClock,
    isClient: false,
    maxDatagramSize: mds,
    sendDatagram: (d) => peerOfCon.send(d),
    onIncomingStream: (req) =>
      req.service === 'sink' ? accepted(req.accept()) : req.refuse(1, 'unknown service'),
  });
  eng.conn = new Connection({
    clock: realClock,
    isClient: true,
    maxDatagramSize: mds,
    sendDatagram: (d) => peerOfEng.send(d),
  });

  say(`engineer  ${eng.host.publicKey} on ${addr(eng)}`);
  say(`connector ${con.host.publicKey} on ${addr(con)}`);
  const t0 = performance.now();
  const stream = eng.conn.openStream('sink');
  const payload = randomBytes(1 << 20);
  const sent = createHash('sha256');
  stream.write(Buffer.alloc(0));
  const received = createHash('sha256');
  let got = 0;
  const done = (async () => {
    const s = await incoming;
    const hs = performance.now() - t0;
    say(`handshake complete and stream accepted in ${hs.toFixed(1)} ms`);
    // Not `for await`: its iterator destroys the Duplex at the end, resetting our half too.
    s.on('data', (chunk: Buffer) => {
      received.update(chunk);
      got += chunk.length;
    });
    s.end();
    await finished(s);
    return hs;
  })();
  const t1 = performance.now();
  for (let k = 0; k < mib; k++) {
    sent.update(payload);
    if (!stream.write(payload)) await once(stream, 'drain');
  }
  stream.end();
  stream.resume();
  const hsMs = await done;
  await finished(stream);
  const secs = (performance.now() - t1) / 1000;
  const ok = sent.digest('hex') === received.digest('hex') && got === mib << 20;
  const st = eng.conn.stats();
  const result = {
    handshakeMs: Number(hsMs.toFixed(1)),
    mib,
    seconds: Number(secs.toFixed(2)),
    mbitPerSecond: Number(((got * 8) / secs / 1e6).toFixed(1)),
    sha256Match: ok,
    srttMs: Number(st.srttMs.toFixed(2)),
    packetsLost: st.packetsLost,
    handshakes: eng.events.filter((e) => e.type === 'handshake-complete').length,
  };
  say(
    `transferred ${mib} MiB in ${result.seconds} s (${result.mbitPerSecond} Mbit/s), SHA-256 ${ok ? 'matches' : 'DIFFERS'}`,
  );
  say(`srtt ${result.srttMs} ms, packets lost ${result.packetsLost}`);
  say('the overlay itself (coordinator, relay, connector and engineer agents, direct paths, access');
  say('approvals) runs on one machine with `bash docs/quickstart.sh`; it joins this lab next.');
  say('not built yet: targets (ClickHouse, Kubernetes), boundary and egress, console');
  if (json) process.stdout.write(JSON.stringify(result) + '\n');
  eng.conn.close();
  con.conn.close();
  eng.host.stop();
  con.host.stop();
  eng.sock.close();
  con.sock.close();
  return ok ? 0 : 1;
}
