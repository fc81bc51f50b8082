// How an error thrown by a route becomes the API's answer: `{ error: { code, message } }` with the
// status its code stands for. Validation failures are 400 BAD_REQUEST; store and coordinator
// errors keep their code (AUTH → UNAUTHORIZED, INVALID → BAD_REQUEST); Fastify's own 4xx (body
// too large, wrong media type) keep their status; anything else is a 500 that says nothing more.
import type { FastifyError } from 'fastify';
import { StoreError } from '../store/index.ts';
import { ControlError } from './errors.ts';

const STATUS: Record<string, number> = {
  BAD_REQUEST: 400,
  INVALID: 400,
  UNAUTHORIZED: 401,
  AUTH: 401,
  FORBIDDEN: 403,
  DISABLED: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  EXHAUSTED: 409,
  REVOKED: 409,
  EXPIRED: 410,
  BUSY: 429,
  CHALLENGE: 401,
  CLAIMS: 403,
  REAUTH: 401,
  IDP: 502,
  PROOF: 401,
  RATE_LIMITED: 429,
};

export interface ErrorAnswer {
  status: number;
  code: string;
  message: string;
}

export function errorAnswer(err: FastifyError): ErrorAnswer {
  if (err.validation) return { status: 400, code: 'BAD_REQUEST', message: err.message };
  if (err instanceof StoreError || err instanceof ControlError) {
    const status = STATUS[err.code] ?? 500;
    if (status === 500) return { status, code: 'INTERNAL', message: 'internal error' };
    const code = err.code === 'AUTH' ? 'UNAUTHORIZED' : err.code === 'INVALID' ? 'BAD_REQUEST' : err.code;
    return { status, code, message: err.message };
  }
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    const status = err.statusCode;
    const code =
      status === 413 ? 'PAYLOAD_TOO_LARGE' : status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : 'BAD_REQUEST';
    return { status, code, message: err.message };
  }
  return { status: 500, code: 'INTERNAL', message: 'internal error' };
}
