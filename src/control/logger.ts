// Structured logs (pino). Secrets are redacted by configuration, not by habit: any field named
// like a token, password, key or authorization header prints as [redacted]. Node keys appear in
// logs only as 8-character fingerprints.
import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';

export type Logger = PinoLogger;

export const REDACT_PATHS = [
  'token',
  'password',
  'preauthKey',
  'key',
  'privateKey',
  'deviceCode',
  'authorization',
  'cookie',
  'req.headers.cookie',
  'headers.cookie',
  '*.cookie',
  '*.token',
  '*.password',
  '*.preauthKey',
  '*.key',
  '*.privateKey',
  '*.deviceCode',
  '*.authorization',
  'req.headers.authorization',
  'headers.authorization',
];

export function createLogger(
  opts: { level?: string; destination?: DestinationStream; name?: string } = {},
): Logger {
  return pino(
    {
      name: opts.name ?? 'coordinator',
      level: opts.level ?? process.env.SALLYPORT_LOG_LEVEL ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: undefined,
    },
    opts.destination,
  );
}
