// Binding transactions (RFC 8489 §3, §6): the requests sallyport sends for endpoint discovery and
// the answers its relay's STUN responder gives.
import { randomBytes } from '../../crypto/index.ts';
import type { StunAddress, StunAttribute } from './attributes.ts';
import { ERR_BAD_REQUEST, ERR_UNKNOWN_ATTRIBUTE, METHOD_BINDING, TRANSACTION_ID_LEN } from './constants.ts';
import { encode, tryDecode, type EncodeOptions, type StunMessage } from './message.ts';

/** A fresh 96-bit transaction id from the CSPRNG (§6: must be uniformly random). */
export function newTransactionId(): Uint8Array {
  return randomBytes(TRANSACTION_ID_LEN);
}

/**
 * The short-term credential key of §9.1.1: the password through OpaqueString (RFC 8265). We apply
 * NFC and UTF-8; OpaqueString's width and space mappings are not applied (ASCII passwords are equal).
 */
export function shortTermKey(password: string): Uint8Array {
  return new TextEncoder().encode(password.normalize('NFC'));
}

function software(s: string | undefined): StunAttribute[] {
  return s === undefined ? [] : [{ kind: 'software', value: s }];
}

/** A Binding request with no attributes but SOFTWARE (if given) and FINGERPRINT (unless disabled). */
export function bindingRequest(
  transactionId: Uint8Array,
  opts: EncodeOptions & { software?: string } = {},
): Uint8Array {
  return encode({ cls: 'request', transactionId, attributes: software(opts.software) }, opts);
}

/** A Binding success response telling the client the address its request came from. */
export function bindingSuccess(
  transactionId: Uint8Array,
  mapped: StunAddress,
  opts: EncodeOptions & { software?: string } = {},
): Uint8Array {
  return encode(
    {
      cls: 'success',
      transactionId,
      attributes: [{ kind: 'xor-mapped-address', address: mapped }, ...software(opts.software)],
    },
    opts,
  );
}

/** A Binding error response (§6.3.4); 420 carries UNKNOWN-ATTRIBUTES. */
export function bindingError(
  transactionId: Uint8Array,
  code: number,
  reason: string,
  opts: EncodeOptions & { software?: string; unknown?: number[] } = {},
): Uint8Array {
  const attrs: StunAttribute[] = [{ kind: 'error-code', code, reason }];
  if (code === ERR_UNKNOWN_ATTRIBUTE) attrs.push({ kind: 'unknown-attributes', types: opts.unknown ?? [] });
  return encode({ cls: 'error', transactionId, attributes: [...attrs, ...software(opts.software)] }, opts);
}

/**
 * The address a Binding success reports: XOR-MAPPED-ADDRESS, else MAPPED-ADDRESS (RFC 3489
 * servers). Undefined for anything that is not a Binding success.
 */
export function mappedAddressOf(m: StunMessage): StunAddress | undefined {
  if (m.method !== METHOD_BINDING || m.cls !== 'success') return undefined;
  return m.xorMappedAddress ?? m.mappedAddress;
}

/**
 * What a Binding responder (the relay's STUN port) sends back for datagram `b` that came from
 * `from`, or undefined to drop it silently (§6.3: not STUN, malformed, or not a request).
 * Unknown comprehension-required attributes get 420 (§6.3.1.1), other methods 400, and a Binding
 * request a success with XOR-MAPPED-ADDRESS. The responder uses no credentials, so a
 * MESSAGE-INTEGRITY in the request is not checked and the answer carries none.
 */
export function answerBinding(
  b: Uint8Array,
  from: StunAddress,
  opts: { software?: string } = {},
): Uint8Array | undefined {
  const r = tryDecode(b);
  if (!r.ok || r.message.cls !== 'request') return undefined;
  const m = r.message;
  const id = m.transactionId;
  if (m.unknownRequired.length > 0)
    return bindingError(id, ERR_UNKNOWN_ATTRIBUTE, 'Unknown Attribute', {
      ...opts,
      unknown: m.unknownRequired,
    });
  if (m.method !== METHOD_BINDING) {
    return encode({
      cls: 'error',
      method: m.method,
      transactionId: id,
      attributes: [{ kind: 'error-code', code: ERR_BAD_REQUEST, reason: 'Unsupported method' }],
    });
  }
  return bindingSuccess(id, from, opts);
}
