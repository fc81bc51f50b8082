// Where the state exporter's state comes from: an HTTP health probe, a JSON state file written by
// whoever knows the version and replicas (an operator, a sidecar), and the disk of a data path.
//
//   state file: {"health":"ok","version":"24.3.1","replicas":{"ready":3,"desired":3},"lastError":null}
//   (every field optional; unknown fields ignored)
import { readFile, statfs } from 'node:fs/promises';
import { EgressError } from './errors.ts';
import { HEALTH, type Health, type ServiceState } from './state.ts';

export interface StateSourceOptions {
  /** GET this URL: 2xx is healthy, anything else or no answer is down. */
  healthUrl?: string;
  /** A JSON file with health, version, replicas, lastError. */
  stateFile?: string;
  /** A path on the data volume, for total and free bytes. */
  diskPath?: string;
  /** Probe timeout (default 5 000 ms). */
  timeoutMs?: number;
}

const str = (v: unknown, max = 200): string | null => (typeof v === 'string' ? v.slice(0, max) : null);
const count = (v: unknown): number | undefined =>
  Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : undefined;

/** Parses a state file's text; a bad file is an EGRESS_INVALID_OPTIONS error naming the field. */
export function parseStateFile(text: string): Partial<ServiceState> {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new EgressError('EGRESS_INVALID_OPTIONS', 'state file is not JSON');
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j))
    throw new EgressError('EGRESS_INVALID_OPTIONS', 'state file is not a JSON object');
  const out: Partial<ServiceState> = {};
  if (j.health !== undefined) {
    if (!HEALTH.includes(j.health as Health))
      throw new EgressError(
        'EGRESS_INVALID_OPTIONS',
        `state file: health must be one of ${HEALTH.join(', ')}`,
      );
    out.health = j.health as Health;
  }
  if (j.version !== undefined) out.version = str(j.version, 100);
  if (j.lastError !== undefined) out.lastError = str(j.lastError, 500);
  if (j.replicas !== undefined) {
    const r = j.replicas as Record<string, unknown> | null;
    const ready = count(r?.ready);
    const desired = count(r?.desired);
    if (ready === undefined || desired === undefined)
      throw new EgressError(
        'EGRESS_INVALID_OPTIONS',
        'state file: replicas must be {"ready": N, "desired": N}',
      );
    out.replicas = { ready, desired };
  }
  return out;
}

/** A reader for StateExporter built from the sources given. */
export function stateSource(o: StateSourceOptions): () => Promise<ServiceState> {
  return async () => {
    const s: ServiceState = { health: 'unknown', version: null, replicas: null, disk: null, lastError: null };
    if (o.stateFile !== undefined) Object.assign(s, parseStateFile(await readFile(o.stateFile, 'utf8')));
    if (o.diskPath !== undefined) {
      const f = await statfs(o.diskPath);
      s.disk = { path: o.diskPath, totalBytes: f.blocks * f.bsize, freeBytes: f.bavail * f.bsize };
    }
    if (o.healthUrl !== undefined) {
      try {
        const r = await fetch(o.healthUrl, { signal: AbortSignal.timeout(o.timeoutMs ?? 5_000) });
        await r.body?.cancel();
        if (r.ok) s.health = s.health === 'degraded' ? 'degraded' : 'ok';
        else {
          s.health = 'down';
          s.lastError = `health probe: HTTP ${r.status}`;
        }
      } catch (e) {
        s.health = 'down';
        s.lastError = `health probe: ${(e as Error).message}`.slice(0, 500);
      }
    }
    return s;
  };
}
