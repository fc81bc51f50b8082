import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../clock/index.ts';
import { Reporter } from './events.ts';

test('events: --json prints one parseable object per line, t from the start', () => {
  const clock = new FakeClock();
  const lines: string[] = [];
  const rep = new Reporter({ json: true, out: (l) => lines.push(l), clock });
  clock.advance(1234.4);
  rep.emit('enrol', 1, 'ok', 'done', { services: ['a'] });
  rep.say('only for people');
  clock.advance(10);
  rep.emit('audit', 5, 'failed', 'no');
  assert.equal(lines.length, 2);
  const [a, b] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(a, {
    step: 'enrol',
    chapter: 1,
    status: 'ok',
    message: 'done',
    detail: { services: ['a'] },
    t: 1234,
  });
  assert.equal(b.t, 1244);
  assert.equal('detail' in b, false);
  assert.equal(rep.events.length, 2);
});

test('events: human lines carry the time, the chapter, a mark and the step', () => {
  const clock = new FakeClock();
  const lines: string[] = [];
  const rep = new Reporter({ json: false, out: (l) => lines.push(l), clock });
  clock.advance(2500);
  rep.emit('request', 2, 'running', 'asking');
  rep.emit('setup', 0, 'failed', 'port taken');
  rep.say('plain');
  assert.match(lines[0], /^\[\s+2\.5s\] 2 … request\s+asking$/);
  assert.match(lines[1], /^\[\s+2\.5s\] {3}✗ setup\s+port taken$/);
  assert.equal(lines[2], 'plain');
});
