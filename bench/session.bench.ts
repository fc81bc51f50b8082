// The session core: replay window vs naive, transport and AEAD throughput vs raw node:crypto, handshakes.
import { randomBytes } from 'node:crypto';
import type { Bench } from './framework.ts';
import { ReplayWindow } from '../src/replay/index.ts';
import { NaiveReplayWindow } from '../src/replay/reference.ts';
import { open, seal, TAG_LEN } from '../src/crypto/index.ts';
import { rawAead } from './peers.ts';

export async function run(b: Bench): Promise<void> {
  await replay(b);
  await aead(b);
  await session(b);
}

/** (b) and (c): need src/session; imported here so the rest of the suite runs without it. */
async function session(b: Bench): Promise<void> {
  let mod: typeof import('./session-pair.ts');
  try {
    mod = await import('./session-pair.ts');
  } catch (e) {
    // Only a missing src/session is a reason to skip; any other failure is a failure.
    if ((e as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw e;
    b.note(`session benchmarks skipped: src/session is not there (${(e as Error).message.split('\n')[0]})`);
    return;
  }
  await mod.sessionBenches(b);
}

// ---------------------------------------------------------------------------------------------
// (a) Replay window operations per second, beside the naive Set-based reference.

const SEQ = 1 << 18;

/** Counters 0, 1, 2, ... */
function inOrder(base: bigint): bigint[] {
  return Array.from({ length: SEQ }, (_, i) => base + BigInt(i));
}

/** Each packet delayed by up to 64 places, 1% delivered twice: a busy multipath link. */
function reordered(base: bigint): bigint[] {
  const arrivals = Array.from({ length: SEQ }, (_, i) => ({
    c: base + BigInt(i),
    at: i + Math.random() * 64,
  }));
  for (let i = 0; i < SEQ / 100; i++) {
    const j = Math.floor(Math.random() * SEQ);
    arrivals.push({ c: arrivals[j].c, at: arrivals[j].at + Math.random() * 256 });
  }
  return arrivals.sort((x, y) => x.at - y.at).map((x) => x.c);
}

/** One check per call over `seq`, starting over (with an emptied window) when it runs out. */
function checker(w: { check(c: bigint): boolean; reset(): void }, seq: bigint[]): () => boolean {
  let i = 0;
  return () => {
    if (i === seq.length) {
      i = 0;
      w.reset();
    }
    return w.check(seq[i++]);
  };
}

/** The same through checkParts, with the halves precomputed as the wire decoder gives them. */
function partsChecker(w: ReplayWindow, seq: bigint[]): () => boolean {
  const hi = Uint32Array.from(seq, (c) => Number(c >> 32n));
  const lo = Uint32Array.from(seq, (c) => Number(c & 0xffff_ffffn));
  let i = 0;
  return () => {
    if (i === lo.length) {
      i = 0;
      w.reset();
    }
    const r = w.checkParts(hi[i], lo[i]);
    i++;
    return r;
  };
}

async function replay(b: Bench): Promise<void> {
  const big = 1n << 60n; // above 2^53: check() takes its BigInt path
  const cases: [string, () => bigint[], boolean][] = [
    ['replay check(), in order (peer: naive Set)', () => inOrder(0n), false],
    ['replay check(), reordered ≤64 + 1% dups (peer: naive Set)', () => reordered(0n), false],
    ['replay check(), counters above 2^60, reordered (peer: naive Set)', () => reordered(big), false],
    ['replay checkParts(hi, lo), reordered (peer: naive Set)', () => reordered(0n), true],
  ];
  for (const [name, make, parts] of cases) {
    if (!b.wants(name)) continue;
    const seq = make();
    const ours = parts ? partsChecker(new ReplayWindow(), seq) : checker(new ReplayWindow(), seq);
    await b.compare(name, 'ops/s', ours, checker(new NaiveReplayWindow(), seq));
  }
}

// ---------------------------------------------------------------------------------------------
// AEAD: src/crypto seal+open (WireGuard nonce) beside raw createCipheriv/createDecipheriv.

async function aead(b: Bench): Promise<void> {
  for (const size of [1400, 16384]) {
    const name = `crypto seal+open ${size} B (peer: raw node:crypto)`;
    if (!b.wants(name)) continue;
    const key = randomBytes(32);
    const pt = randomBytes(size);
    const out = new Uint8Array(size + TAG_LEN);
    const ad = new Uint8Array(0);
    let n = 0;
    const ours = () => {
      const sealed = seal(key, ++n, pt, ad, out);
      if (!open(key, n, sealed, ad)) throw new Error('open failed');
    };
    await b.compare(name, 'MB/s', ours, rawAead(size), { per: size / 1e6 });
  }
}
