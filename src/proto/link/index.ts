// The session payload: what one WireGuard transport message between two agents carries. The first
// byte says which, and this table is the whole format (DESIGN.md §4 "Session payload"):
//
//   byte 0                what follows                                       read by
//   0x01 DATA             epoch (8) ‖ one stream datagram (proto/frames)      agent/link.ts → stream
//   0x81 DATA + OPEN      the same; "new connection, adopt this epoch" (sent by the side that
//                         opened it until it hears the peer on that epoch)
//   0x02 WAKE             epoch (8); server → client: "open a link with this epoch" (the stream
//                         layer's server speaks only after hearing the client)
//   0x03 RESET            epoch (8); "I have no connection for this epoch"
//   0x10 PATH             one stream-layer packet (packet number 0, no ACK, never retransmitted)   paths/peer-paths.ts
//                         holding path frames only: PATH_PING, PATH_PONG, CALL_ME_MAYBE
//
// The epoch binds one stream Connection on each side to one random id (picked by the side that
// opened the Connection), so a restarted or reset side never feeds packets into a stale one.
// Stream-id parity is fixed by the node keys (the lower key is the stream client), whoever opened
// the link. The session pads payloads with zeros to a multiple of 16; the stream layer reads them
// as PADDING frames, and so does the path frames' decoder. Anything else is dropped by its reader
// and counted.
export {
  LINK_HEADER_LEN,
  T_DATA,
  T_WAKE,
  T_RESET,
  F_OPEN,
  encodeLink,
  writeLinkHeader,
  decodeLink,
  isLowerKey,
  type LinkHeader,
} from './link.ts';
export { T_PATH, encodePathPayload, decodePathPayload, payloadKind, type PayloadKind } from './path.ts';
export {
  directEndpoint,
  relayEndpoint,
  sameEndpoint,
  type Endpoint,
  type DirectEndpoint,
  type RelayEndpoint,
} from './endpoint.ts';
