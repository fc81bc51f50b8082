import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeClock } from '../clock/index.ts';
import { MAX_ATTEMPTS, Webhooks, parseWebhookUrls, webhookBody } from './webhooks.ts';
import type { AccessNotice } from '../store/index.ts';

const notice = (text: string): AccessNotice => ({
  kind: 'notify',
  topic: 'grant-start',
  subject: 'grant:g1',
  at: Date.UTC(2026, 10, 28),
  text,
});

async function receiver(status: () => number) {
  const got: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push(Buffer.concat(chunks).toString());
      res.writeHead(status()).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return { got, url, close: () => new Promise((r) => server.close(r)) };
}

const until = async (pred: () => boolean) => {
  for (let i = 0; i < 500 && !pred(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(pred(), 'condition not met');
};

test('the body is Slack-compatible: text plus blocks', () => {
  const b = webhookBody(notice('alice has read-only access'));
  assert.match(b.text, /Access granted: alice has read-only access/);
  assert.equal((b.blocks[0] as { type: string }).type, 'section');
  assert.throws(() => parseWebhookUrls(['ftp://x']), /http or https/);
  assert.throws(() => parseWebhookUrls(['not a url']), /not a URL/);
});

test('a failing receiver is retried with backoff, then given up after MAX_ATTEMPTS', async () => {
  const r = await receiver(() => 500);
  const clock = new FakeClock();
  let gaveUp = 0;
  const w = new Webhooks({ urls: [r.url], clock, onDrop: (why) => why === 'gave-up' && gaveUp++ });
  w.enqueue([notice('one')]);
  // Time moves on while we wait; each retry fires once its backoff has passed on the clock.
  await until(() => {
    clock.advance(500);
    return gaveUp === 1;
  });
  assert.equal(w.queued, 0);
  // Every attempt failed (a 500, or the POST timeout on the clock), and no more than MAX_ATTEMPTS.
  assert.ok(r.got.length >= 1 && r.got.length <= MAX_ATTEMPTS, String(r.got.length));
  w.stop();
  await r.close();
});

test('the queue is bounded: the oldest deliveries are dropped and counted', async () => {
  const r = await receiver(() => 200);
  const clock = new FakeClock();
  const w = new Webhooks({ urls: [r.url], clock, maxQueue: 3 });
  w.enqueue(Array.from({ length: 10 }, (_, i) => notice(`n${i}`)));
  assert.ok(w.queued <= 3);
  assert.ok(w.dropped >= 6);
  await until(() => w.queued === 0 && w.sent + w.dropped === 10);
  assert.ok(
    r.got.some((b) => b.includes('n9')),
    'the newest is kept',
  );
  w.stop();
  await r.close();
});

test("user text is escaped by Slack's rules: no <!channel>, <!here>, links or @channel mentions injected", () => {
  const evil =
    'fix <!channel> <!here> <https://evil.example|click> &amp; <@U123> @channel @here @everyone @@channel';
  const n: AccessNotice = { ...notice(`bob requests access: ${evil}`), subject: 'request:<!channel>' };
  const b = webhookBody(n);
  const texts = [
    b.text,
    ...JSON.stringify(b.blocks)
      .match(/"text":"(?:[^"\\]|\\.)*"/g)!
      .map((x) => JSON.parse(x.slice(7)) as string),
  ];
  for (const t of texts) {
    assert.doesNotMatch(t, /[<>]/, `no raw < or > in ${t}`);
    assert.doesNotMatch(t, /&(?!amp;|lt;|gt;)/, `every & is an entity in ${t}`);
    assert.doesNotMatch(t, /(^|[^\w])@(channel|here|everyone)\b/, `no mention in ${t}`);
  }
  assert.match(b.text, /fix &lt;!channel&gt; &lt;!here&gt; &lt;https:\/\/evil\.example\|click&gt; &amp;amp;/);
  // An e-mail address keeps its @.
  assert.match(webhookBody(notice('reason: mail alice@example.com')).text, /alice@example\.com/);
});
