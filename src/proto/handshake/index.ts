export { MessageType, messageType, readU32, writeU32, type DecodeReason, type Decoded } from './common.ts';
export {
  INITIATION_SIZE,
  INITIATION_NOISE_OFFSET,
  INITIATION_NOISE_SIZE,
  INITIATION_MAC1_OFFSET,
  INITIATION_MAC2_OFFSET,
  encodeInitiation,
  decodeInitiation,
  type Initiation,
} from './initiation.ts';
export {
  RESPONSE_SIZE,
  RESPONSE_NOISE_OFFSET,
  RESPONSE_NOISE_SIZE,
  RESPONSE_MAC1_OFFSET,
  RESPONSE_MAC2_OFFSET,
  encodeResponse,
  decodeResponse,
  type Response,
} from './response.ts';
export { COOKIE_REPLY_SIZE, encodeCookieReply, decodeCookieReply, type CookieReply } from './cookie-reply.ts';
