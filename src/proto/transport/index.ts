export {
  TRANSPORT_HEADER_SIZE,
  TRANSPORT_MIN_SIZE,
  writeTransportHeader,
  encodeTransport,
  decodeTransport,
  transportCounter,
  type Transport,
} from './transport.ts';
