// Reading a password: on a terminal, a prompt on stderr and the keystrokes read in raw mode, so
// nothing is echoed (backspace works, Ctrl-C and Ctrl-D give up); otherwise the first line of
// standard input (scripts pipe it in).
import { readFileSync } from 'node:fs';

export class PromptAborted extends Error {}

const MAX = 1024;

export function readSecret(prompt: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    try {
      return Promise.resolve(readFileSync(0, 'utf8').split('\n')[0]?.replace(/\r$/, '') ?? '');
    } catch {
      return Promise.resolve('');
    }
  }
  process.stderr.write(prompt);
  return new Promise<string>((resolve, reject) => {
    let value = '';
    const done = (err?: Error) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003') return done(new PromptAborted('cancelled'));
        if (ch === '\u0004') {
          if (value === '') return done(new PromptAborted('no password given'));
          return done();
        }
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch >= ' ' && value.length < MAX) value += ch;
      }
    };
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}
