// `sallyport lab` options: flags only (the lab is a one-machine demonstration; nothing to configure).
import { parseArgs } from 'node:util';

export interface LabOptions {
  /** The lab directory; undefined = a fresh temporary directory, removed at exit. */
  dir: string | undefined;
  /** One JSON object per line per event on stdout, instead of human lines. */
  json: boolean;
  /** Run the story and exit: 0 when every step went as expected. */
  once: boolean;
  /** Each party in its own network namespace behind NAT (root). */
  netns: boolean;
  /** The coordinator's (and console's) HTTPS port on 127.0.0.1; 0 = any free port. */
  port: number;
  /** Serve the demo service even when ClickHouse is installed (shows the fallback). */
  demo: boolean;
}

export class LabUsageError extends Error {}

export function parseLabArgs(argv: string[]): LabOptions {
  let v;
  try {
    v = parseArgs({
      args: argv,
      options: {
        dir: { type: 'string' },
        json: { type: 'boolean' },
        once: { type: 'boolean' },
        netns: { type: 'boolean' },
        port: { type: 'string' },
        demo: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    throw new LabUsageError((e as Error).message);
  }
  const port = v.port === undefined ? 0 : Number(v.port);
  if (!/^\d{1,5}$/.test(v.port ?? '0') || port > 65535)
    throw new LabUsageError(`--port takes a port number 0..65535, got '${v.port}'`);
  if (v.dir === '') throw new LabUsageError('--dir takes a directory');
  return {
    dir: v.dir,
    json: v.json ?? false,
    once: v.once ?? false,
    netns: v.netns ?? false,
    port,
    demo: v.demo ?? false,
  };
}
