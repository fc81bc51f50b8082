import { SallyportError } from '../../util/index.ts';

/**
 * Agent-channel input that breaks the protocol. Codes:
 * - `CONTROL_TOO_LARGE`: a message over its size limit.
 * - `CONTROL_BAD_JSON`: not UTF-8 JSON.
 * - `CONTROL_BAD_MESSAGE`: JSON that does not match the message's schema (the message names the path).
 * - `CONTROL_BAD_FRAME`: a transport message shorter than counter + tag.
 */
export class ControlProtoError extends SallyportError {}
