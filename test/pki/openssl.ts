// Runs the openssl CLI for the PKI lint tests; `opensslMissing()` is the reason to skip without it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function opensslMissing(): string | undefined {
  const r = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : 'needs the openssl command line tool';
}

export interface Run {
  status: number | null;
  out: string;
}

export function openssl(args: string[], input?: string): Run {
  const r = spawnSync('openssl', args, { encoding: 'utf8', input, timeout: 20_000 });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/** A temporary directory with helpers to write PEM files into it. */
export class Scratch {
  readonly dir = mkdtempSync(join(tmpdir(), 'sallyport-pki-lint-'));
  file(name: string, text: string): string {
    const p = join(this.dir, name);
    writeFileSync(p, text);
    return p;
  }
  path(name: string): string {
    return join(this.dir, name);
  }
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Parses openssl's "notAfter=Nov 28 12:21:54 2026 GMT" style dates to epoch ms. */
export function opensslDate(line: string): number {
  const m = /=(.+)$/.exec(line.trim());
  if (!m) throw new Error(`no date in ${line}`);
  return Date.parse(m[1]!);
}
