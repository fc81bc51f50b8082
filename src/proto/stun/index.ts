export * from './constants.ts';
export { StunError } from './errors.ts';
export type { StunAddress, StunAttribute } from './attributes.ts';
export {
  encode,
  decode,
  tryDecode,
  isStun,
  type StunClass,
  type StunMessage,
  type StunMessageInit,
  type EncodeOptions,
  type DecodeOptions,
  type DecodeResult,
} from './message.ts';
export {
  newTransactionId,
  shortTermKey,
  bindingRequest,
  bindingSuccess,
  bindingError,
  mappedAddressOf,
  answerBinding,
} from './binding.ts';
export { crc32 } from './crc32.ts';
export { ipToBytes, bytesToIp } from './ip.ts';
