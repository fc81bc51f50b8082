// The agent's state directory (DESIGN.md §4 "Keys", I9): the node key is created here at first
// start, stored 0600, and never leaves this machine. The directory also holds the control socket
// and what `sallyport login` learned (agent.json).
//
//   DIR/node.key     base64 X25519 private key, mode 0600
//   DIR/agent.json   { coordinator, coordinatorKey, ca? } written by `sallyport login`, mode 0600
//   DIR/agent.sock   the local control socket (unix), mode 0600
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { PrivateKey } from '../crypto/index.ts';
import { AgentError } from './errors.ts';

export const KEY_FILE = 'node.key';
export const SETTINGS_FILE = 'agent.json';
export const SOCKET_FILE = 'agent.sock';

export interface StoredSettings {
  coordinator?: string;
  coordinatorKey?: string;
  ca?: string;
  name?: string;
}

export function ensureStateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/** Loads the node key, creating it (0600, written atomically) when missing. */
export function loadOrCreateNodeKey(dir: string): { key: PrivateKey; created: boolean } {
  ensureStateDir(dir);
  const path = join(dir, KEY_FILE);
  if (existsSync(path)) {
    const mode = statSync(path).mode & 0o777;
    if (mode & 0o077)
      throw new AgentError(
        'AGENT_STATE',
        `${path} is readable by others (mode ${mode.toString(8)}); want 0600`,
      );
    try {
      return { key: PrivateKey.fromBase64(readFileSync(path, 'utf8').trim()), created: false };
    } catch (e) {
      throw new AgentError('AGENT_STATE', `${path} does not hold a node key`, { cause: e });
    }
  }
  const key = PrivateKey.generate();
  writePrivate(path, Buffer.from(key.unsafeBytes()).toString('base64') + '\n');
  return { key, created: true };
}

/** Writes a file readable only by its owner, via a temporary name and rename. */
export function writePrivate(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

export function readSettings(dir: string): StoredSettings {
  const path = join(dir, SETTINGS_FILE);
  if (!existsSync(path)) return {};
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    const o = v as Record<string, unknown>;
    const s: StoredSettings = {};
    for (const k of ['coordinator', 'coordinatorKey', 'ca', 'name'] as const)
      if (typeof o[k] === 'string') s[k] = o[k];
    return s;
  } catch (e) {
    throw new AgentError('AGENT_STATE', `${path}: ${(e as Error).message}`, { cause: e });
  }
}

export function writeSettings(dir: string, s: StoredSettings): void {
  ensureStateDir(dir);
  writePrivate(join(dir, SETTINGS_FILE), JSON.stringify(s, null, 2) + '\n');
}

export const socketPath = (dir: string): string => join(dir, SOCKET_FILE);
