// Where a long-running command's logs go, and in which form: one JSON object per line (pino's own)
// when the output is a file, a pipe or journald; a line for people when it is a terminal —
// "12:04:31.207 INFO  [component] message key=value …", the level coloured. SALLYPORT_LOG_FORMAT=json
// or =pretty decides instead. The fields are the same either way (redaction happens before).
import { Writable } from 'node:stream';
import { isatty } from 'node:tty';
import { pino, type DestinationStream } from 'pino';

const LEVELS: Record<number, [string, string]> = {
  10: ['TRACE', '\x1b[90m'],
  20: ['DEBUG', '\x1b[36m'],
  30: ['INFO ', '\x1b[32m'],
  40: ['WARN ', '\x1b[33m'],
  50: ['ERROR', '\x1b[31m'],
  60: ['FATAL', '\x1b[35m'],
};
const SKIP = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name', 'component', 'cmd', 'v']);

/** One pino JSON line as a line for people; the line itself when it is not JSON. */
export function prettyLine(line: string, colour: boolean): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (typeof o !== 'object' || o === null) return line;
  const [name, tint] = LEVELS[Number(o.level)] ?? ['?    ', ''];
  const t = typeof o.time === 'number' ? new Date(o.time).toISOString().slice(11, 23) : '';
  const who = [o.name, o.cmd, o.component].filter((x) => typeof x === 'string').join('/');
  const rest = Object.entries(o)
    .filter(([k]) => !SKIP.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
    .join(' ');
  const level = colour ? `${tint}${name}\x1b[0m` : name;
  return `${t} ${level} ${who ? `[${who}] ` : ''}${String(o.msg ?? '')}${rest ? ` ${rest}` : ''}`;
}

/** A pino destination writing to fd 1 or 2, pretty on a terminal unless told otherwise. */
export function logDestination(
  fd: 1 | 2,
  env: Record<string, string | undefined> = process.env,
): DestinationStream {
  const format = env.SALLYPORT_LOG_FORMAT;
  const pretty = format === 'pretty' || (format !== 'json' && isatty(fd));
  if (!pretty) return pino.destination(fd);
  const out = fd === 1 ? process.stdout : process.stderr;
  const colour = isatty(fd) && !env.NO_COLOR;
  let buf = '';
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      buf += chunk.toString('utf8');
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        out.write(prettyLine(buf.slice(0, i), colour) + '\n');
        buf = buf.slice(i + 1);
      }
      cb();
    },
  }) as unknown as DestinationStream;
}
