// Pure parsers for the cgroup v2 files the billing scraper reads. No I/O here (see sample.ts).
//
//   cpu.stat         "usage_usec 123\nuser_usec 100\nsystem_usec 23\n..."   (flat keyed, µs)
//   memory.current   "4096\n"                                              (bytes)
//   memory.stat      "anon 1\nfile 2\nkernel 3\n..."                         (flat keyed, bytes)
//   /proc/PID/cgroup "0::/system.slice/db.service\n" (v2 line; v1 lines "N:ctrl:/path" ignored)
//   /proc/mounts     "cgroup2 /sys/fs/cgroup cgroup2 rw,... 0 0\n"
//
// Every parser returns a value or throws CgroupParseError; no other exception escapes.
import { CgroupParseError } from './errors.ts';

export interface CpuStat {
  usageUsec: number;
  userUsec: number;
  systemUsec: number;
}

/** The memory.stat fields a usage record carries (bytes); absent fields are 0. */
export const MEMORY_STAT_FIELDS = ['anon', 'file', 'kernel', 'shmem', 'sock'] as const;
export type MemoryStat = Record<(typeof MEMORY_STAT_FIELDS)[number], number>;

const MAX_FILE = 64 * 1024;

function counter(file: string, key: string, raw: string): number {
  if (!/^\d{1,16}$/.test(raw))
    throw new CgroupParseError(file, `${key}: '${raw.slice(0, 32)}' is not a counter`);
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new CgroupParseError(file, `${key}: ${raw} is out of range`);
  return n;
}

/** Parses a flat-keyed file ("key value" per line) into a map of non-negative integers. */
export function parseFlatKeyed(text: string, file: string): Map<string, number> {
  if (typeof text !== 'string') throw new CgroupParseError(file, 'not text');
  if (text.length > MAX_FILE) throw new CgroupParseError(file, `larger than ${MAX_FILE} characters`);
  const out = new Map<string, number>();
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (const [i, line] of lines.entries()) {
    const m = /^([a-z0-9_]{1,64}) (\S+)$/.exec(line);
    if (!m) throw new CgroupParseError(file, `line ${i + 1} is not 'key value'`);
    if (out.has(m[1])) throw new CgroupParseError(file, `key ${m[1]} appears twice`);
    out.set(m[1], counter(file, m[1], m[2]));
  }
  return out;
}

/** cpu.stat → its three always-present counters (µs). */
export function parseCpuStat(text: string): CpuStat {
  const kv = parseFlatKeyed(text, 'cpu.stat');
  const get = (k: string): number => {
    const v = kv.get(k);
    if (v === undefined) throw new CgroupParseError('cpu.stat', `no ${k}`);
    return v;
  };
  return { usageUsec: get('usage_usec'), userUsec: get('user_usec'), systemUsec: get('system_usec') };
}

/** memory.current → bytes. */
export function parseMemoryCurrent(text: string): number {
  if (typeof text !== 'string') throw new CgroupParseError('memory.current', 'not text');
  const t = text.endsWith('\n') ? text.slice(0, -1) : text;
  return counter('memory.current', 'value', t);
}

/** memory.stat → the fields of MEMORY_STAT_FIELDS (0 when absent; other keys ignored). */
export function parseMemoryStat(text: string): MemoryStat {
  const kv = parseFlatKeyed(text, 'memory.stat');
  const out = {} as MemoryStat;
  for (const f of MEMORY_STAT_FIELDS) out[f] = kv.get(f) ?? 0;
  return out;
}

/** /proc/PID/cgroup → the cgroup v2 path ("0::/a/b"), e.g. "/a/b". */
export function parseProcCgroup(text: string): string {
  if (typeof text !== 'string') throw new CgroupParseError('/proc/PID/cgroup', 'not text');
  for (const line of text.split('\n')) {
    if (!line.startsWith('0::')) continue;
    const path = line.slice(3);
    if (!path.startsWith('/') || path.split('/').includes('..') || path.includes('\0'))
      throw new CgroupParseError('/proc/PID/cgroup', `'${path.slice(0, 64)}' is not a cgroup path`);
    return path;
  }
  throw new CgroupParseError('/proc/PID/cgroup', 'no cgroup v2 line (0::/path): is cgroup v2 mounted?');
}

/** /proc/mounts → the mount point of the cgroup v2 hierarchy (first one), or undefined. */
export function parseCgroup2Mount(text: string): string | undefined {
  if (typeof text !== 'string') return undefined;
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length >= 3 && f[2] === 'cgroup2') return f[1].replace(/\\040/g, ' ');
  }
  return undefined;
}
