// Reads one usage sample from a cgroup v2 directory, and finds a PID's cgroup directory.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  parseCgroup2Mount,
  parseCpuStat,
  parseMemoryCurrent,
  parseMemoryStat,
  parseProcCgroup,
  type CpuStat,
  type MemoryStat,
} from './cgroup.ts';
import { CgroupParseError, EgressError } from './errors.ts';

/** One reading of a cgroup's counters. Memory is null where the memory controller is not on v2. */
export interface CgroupReading {
  cpu: CpuStat;
  memoryBytes: number | null;
  memory: MemoryStat | null;
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Reads cpu.stat (required) and memory.current / memory.stat (when present) of `dir`. */
export async function readCgroup(dir: string): Promise<CgroupReading> {
  let cpuText: string;
  try {
    cpuText = await readFile(join(dir, 'cpu.stat'), 'utf8');
  } catch (e) {
    throw new EgressError(
      'EGRESS_CGROUP_UNAVAILABLE',
      `cannot read ${join(dir, 'cpu.stat')}: is it a cgroup v2 directory?`,
      {
        cause: e,
      },
    );
  }
  const [cur, stat] = await Promise.all([
    readOptional(join(dir, 'memory.current')),
    readOptional(join(dir, 'memory.stat')),
  ]);
  return {
    cpu: parseCpuStat(cpuText),
    memoryBytes: cur === undefined ? null : parseMemoryCurrent(cur),
    memory: stat === undefined ? null : parseMemoryStat(stat),
  };
}

/** The cgroup v2 directory of process `pid` (cgroup2 mount point + the path in /proc/PID/cgroup). */
export async function cgroupDirOfPid(pid: number, procRoot = '/proc'): Promise<string> {
  if (!Number.isSafeInteger(pid) || pid <= 0)
    throw new EgressError('EGRESS_INVALID_OPTIONS', `--pid wants a process id, got '${pid}'`);
  let cg: string;
  let mounts: string;
  try {
    [cg, mounts] = await Promise.all([
      readFile(join(procRoot, String(pid), 'cgroup'), 'utf8'),
      readFile(join(procRoot, 'self', 'mounts'), 'utf8'),
    ]);
  } catch (e) {
    throw new EgressError(
      'EGRESS_CGROUP_UNAVAILABLE',
      `cannot read the cgroup of process ${pid}: is it running?`,
      {
        cause: e,
      },
    );
  }
  const mount = parseCgroup2Mount(mounts);
  if (mount === undefined)
    throw new CgroupParseError('/proc/self/mounts', 'no cgroup2 mount: this host has no cgroup v2 hierarchy');
  return join(mount, parseProcCgroup(cg));
}
