import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  parseCgroup2Mount,
  parseCpuStat,
  parseMemoryCurrent,
  parseMemoryStat,
  parseProcCgroup,
} from './cgroup.ts';
import { CgroupParseError } from './errors.ts';

const CPU = 'usage_usec 4158268\nuser_usec 3273996\nsystem_usec 884272\nnice_usec 1500\n';

test('cgroup parsers read the kernel formats', () => {
  assert.deepEqual(parseCpuStat(CPU), { usageUsec: 4158268, userUsec: 3273996, systemUsec: 884272 });
  assert.equal(parseMemoryCurrent('1048576\n'), 1048576);
  assert.deepEqual(parseMemoryStat('anon 10\nfile 20\nkernel 3\nshmem 4\nsock 0\nactive_anon 9\n'), {
    anon: 10,
    file: 20,
    kernel: 3,
    shmem: 4,
    sock: 0,
  });
  assert.equal(parseProcCgroup('4:memory:/x\n0::/system.slice/db.service\n'), '/system.slice/db.service');
  assert.equal(
    parseCgroup2Mount('proc /proc proc rw 0 0\ncgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n'),
    '/sys/fs/cgroup/unified',
  );
  assert.equal(parseCgroup2Mount('proc /proc proc rw 0 0\n'), undefined);
});

test('cgroup parsers refuse bad shapes with EGRESS_CGROUP_PARSE', () => {
  const bad: [(s: string) => unknown, string][] = [
    [parseCpuStat, 'user_usec 1\nsystem_usec 2\n'], // no usage_usec
    [parseCpuStat, 'usage_usec -1\nuser_usec 1\nsystem_usec 2\n'],
    [parseCpuStat, 'usage_usec 1\nusage_usec 2\nuser_usec 1\nsystem_usec 2\n'],
    [parseCpuStat, 'usage_usec 99999999999999999\nuser_usec 1\nsystem_usec 2\n'],
    [parseMemoryCurrent, 'max\n'],
    [parseMemoryCurrent, ''],
    [parseMemoryStat, 'anon\n'],
    [parseProcCgroup, '4:memory:/x\n'],
    [parseProcCgroup, '0::/../etc\n'],
  ];
  for (const [f, input] of bad)
    assert.throws(
      () => f(input),
      (e: unknown) => e instanceof CgroupParseError && e.code === 'EGRESS_CGROUP_PARSE',
      JSON.stringify(input),
    );
});

test('fuzz: random and mutated input only ever raises CgroupParseError', () => {
  const parsers = [parseCpuStat, parseMemoryCurrent, parseMemoryStat, parseProcCgroup, parseCgroup2Mount];
  const mutated = fc
    .tuple(
      fc.constantFrom(CPU, '123\n', 'anon 1\nfile 2\n', '0::/a/b\n'),
      fc.nat(40),
      fc.string({ maxLength: 8 }),
    )
    .map(([s, at, ins]) => s.slice(0, at % (s.length + 1)) + ins + s.slice(at % (s.length + 1)));
  fc.assert(
    fc.property(
      fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'grapheme', maxLength: 60 }), mutated),
      (s) => {
        for (const p of parsers) {
          try {
            p(s);
          } catch (e) {
            if (!(e instanceof CgroupParseError)) throw e;
          }
        }
      },
    ),
    { numRuns: 2000 },
  );
});
