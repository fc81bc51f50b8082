import { SallyportError } from '../../util/index.ts';

/**
 * A STUN message that cannot be decoded, or arguments that cannot be encoded. Codes:
 * - `STUN_TRUNCATED`: fewer bytes than the header or an attribute declares.
 * - `STUN_NOT_STUN`: top bits set or no magic cookie (not an RFC 5389/8489 message).
 * - `STUN_BAD_LENGTH`: message length not a multiple of 4 or not the datagram's length.
 * - `STUN_BAD_ATTRIBUTE`: a known attribute with a malformed value.
 * - `STUN_BAD_FINGERPRINT`: FINGERPRINT wrong, or not the last attribute.
 * - `STUN_INVALID_ARGUMENT`: encode() was given something it cannot put on the wire.
 */
export class StunError extends SallyportError {}
