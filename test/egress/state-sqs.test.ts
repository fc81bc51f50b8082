// The state exporter against the SQS stand-in (local-aws-sqs, FIFO queue): the queue is unreachable
// for OUTAGE_MS (60 s with SALLYPORT_FULL=1) while the state changes, the exporter is killed with
// SIGKILL during the outage and restarted — and afterwards every state it saw is on the queue, each
// once, with unique deduplication ids. A message sent twice is kept once by the queue.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { createSqsServer } from 'local-aws-sqs';
import { SqsSink, DEDUP_ATTRIBUTE } from '../../src/egress/sqs-sink.ts';
import type { StateMessage } from '../../src/egress/state.ts';
import { cli, exited, freePort, OUTAGE_MS, outageProxy, sleep, until } from './helpers.ts';

const creds = { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' };
const ACCOUNT = '123456789012';

async function startSqs(port: number): Promise<Server> {
  return createSqsServer({
    port,
    hostname: '127.0.0.1',
    queues: [{ QueueName: 'state.fifo', Attributes: { FifoQueue: 'true' } }, { QueueName: 'state-std' }],
  });
}

async function receiveAll(sqs: SQSClient, url: string): Promise<Message[]> {
  const all: Message[] = [];
  for (let empty = 0; empty < 3;) {
    const r = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 600,
        MessageSystemAttributeNames: ['All'],
        AttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    if (!r.Messages?.length) empty++;
    else all.push(...r.Messages);
  }
  return all;
}

test(
  'state → SQS FIFO: outage and kill -9: every state once, dedup ids unique',
  { timeout: 180_000 },
  async (t) => {
    const work = mkdtempSync(join(tmpdir(), 'egress-sqs-'));
    const sqsPort = await freePort();
    const server = await startSqs(sqsPort);
    const proxy = await outageProxy(sqsPort);
    const sqs = new SQSClient({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${sqsPort}`,
      credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
    });
    const procs: { kill: (s: NodeJS.Signals) => void }[] = [];
    t.after(async () => {
      for (const p of procs) p.kill('SIGKILL');
      sqs.destroy();
      await proxy.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      rmSync(work, { recursive: true, force: true });
    });
    const stateFile = join(work, 'state.json');
    const spoolDir = join(work, 'spool');
    const setVersion = (v: string) =>
      writeFileSync(
        stateFile,
        JSON.stringify({ health: 'ok', version: v, replicas: { ready: 3, desired: 3 } }),
      );
    const queueUrl = `http://127.0.0.1:${proxy.port}/${ACCOUNT}/state.fifo`;
    const args = [
      'state-exporter',
      '--deployment',
      'acme-prod',
      '--host',
      'db-0',
      '--queue-url',
      queueUrl,
      '--endpoint',
      `http://127.0.0.1:${proxy.port}`,
      '--region',
      'us-east-1',
      '--state-file',
      stateFile,
      '--interval',
      '200ms',
      '--heartbeat',
      '1s',
      '--spool-dir',
      spoolDir,
    ];
    const recs = () => readdirSync(join(spoolDir, 'q')).filter((f) => f.endsWith('.rec'));
    const spooled = () => recs().length;
    /** The versions in the spool now (a record: one header line, then the message). */
    const spooledVersions = () =>
      recs().map((f) => {
        try {
          const text = readFileSync(join(spoolDir, 'q', f), 'utf8');
          return (JSON.parse(text.slice(text.indexOf('\n') + 1)) as StateMessage).state.version;
        } catch {
          return undefined; // removed while we read it
        }
      });
    const waitSpooled = (v: string) => until(`${v} spooled`, () => spooledVersions().includes(v));
    setVersion('v1');
    let ex = cli(args, creds);
    procs.push(ex.p);
    await until('the exporter to start', () => /spool .* holds/.test(ex.out()));
    await until('v1 sent', () => spooled() === 0);

    await proxy.down(); // the queue is unreachable from here on
    const outageStart = Date.now();
    setVersion('v2');
    await waitSpooled('v2');
    setVersion('v3');
    await waitSpooled('v3');
    ex.p.kill('SIGKILL');
    await exited(ex.p);
    setVersion('v4');
    ex = cli(args, creds);
    procs.push(ex.p);
    await until('the exporter to start again', () => /spool .* holds/.test(ex.out()));
    await waitSpooled('v4');
    setVersion('v5');
    await waitSpooled('v5');
    await sleep(Math.max(0, OUTAGE_MS - (Date.now() - outageStart)));
    await proxy.up();
    await until('the spool to drain', () => spooled() === 0, 60_000);
    ex.p.kill('SIGTERM');
    await exited(ex.p);
    assert.equal(ex.p.exitCode, 0, ex.out());

    const msgs = await receiveAll(sqs, `http://127.0.0.1:${sqsPort}/${ACCOUNT}/state.fifo`);
    const bodies = msgs.map((m) => JSON.parse(m.Body!) as StateMessage);
    const dedup = msgs.map((m) => m.Attributes?.MessageDeduplicationId);
    assert.ok(
      dedup.every((d) => typeof d === 'string'),
      'every message has a deduplication id',
    );
    assert.equal(new Set(dedup).size, msgs.length, 'deduplication ids are unique');
    assert.deepEqual(
      dedup,
      bodies.map((b) => `acme-prod.db-0.${b.seq}`),
    );
    assert.equal(new Set(bodies.map((b) => b.seq)).size, bodies.length, 'no message twice');
    const versions = new Set(bodies.map((b) => b.state.version));
    for (const v of ['v1', 'v2', 'v3', 'v4', 'v5']) assert.ok(versions.has(v), `${v} arrived`);
    assert.ok(
      bodies.some((b) => b.reason === 'heartbeat'),
      'heartbeats too',
    );
    const seqs = bodies.map((b) => b.seq);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
      'in order (FIFO, oldest first)',
    );
  },
);

test('state → SQS: a message sent twice is kept once (FIFO); standard queues carry the dedup id', async (t) => {
  const port = await freePort();
  const server = await startSqs(port);
  const opts = { region: 'us-east-1', endpoint: `http://127.0.0.1:${port}` };
  process.env.AWS_ACCESS_KEY_ID ??= 'local';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
  const fifo = new SqsSink({ ...opts, queueUrl: `http://127.0.0.1:${port}/${ACCOUNT}/state.fifo` });
  const std = new SqsSink({ ...opts, queueUrl: `http://127.0.0.1:${port}/${ACCOUNT}/state-std` });
  t.after(async () => {
    fifo.close();
    std.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  const msg: StateMessage = {
    v: 1,
    kind: 'state',
    deployment: 'd',
    host: 'h',
    seq: 7,
    atMs: 1,
    reason: 'change',
    state: { health: 'ok', version: '1', replicas: null, disk: null, lastError: null },
  };
  const body = Buffer.from(JSON.stringify(msg));
  const signal = new AbortController().signal;
  await fifo.send(7, body, { signal });
  await fifo.send(7, body, { signal }); // the retry after a lost answer or a kill -9
  assert.equal((await receiveAll(fifo.client, `http://127.0.0.1:${port}/${ACCOUNT}/state.fifo`)).length, 1);
  await std.send(7, body, { signal });
  const got = await receiveAll(std.client, `http://127.0.0.1:${port}/${ACCOUNT}/state-std`);
  assert.equal(got.length, 1);
  assert.equal(got[0].MessageAttributes?.[DEDUP_ATTRIBUTE]?.StringValue, 'd.h.7');
});
