// Constants of the relay protocol (DESIGN.md §4 "Relay"; the shape of Tailscale's DERP, our own
// numbering and handshake). The wire layout is drawn in frames.ts.

/** Every frame starts with 1 byte of type and 4 bytes of big-endian payload length. */
export const FRAME_HEADER_LEN = 5;
/** X25519 node keys and the relay's key. */
export const KEY_LEN = 32;
/** The largest packet SEND_PACKET / RECV_PACKET carry: 64 KiB. */
export const MAX_PACKET_LEN = 64 * 1024;
/** The largest frame payload of any type: a key plus the largest packet. */
export const MAX_FRAME_PAYLOAD = KEY_LEN + MAX_PACKET_LEN;
/** The most bytes a FrameDecoder holds at once: one whole frame. */
export const MAX_BUFFERED = FRAME_HEADER_LEN + MAX_FRAME_PAYLOAD;

/** SERVER_KEY opens with these 8 bytes ("sallyprt") and then the protocol version. */
export const MAGIC = Uint8Array.from([0x73, 0x61, 0x6c, 0x6c, 0x79, 0x70, 0x72, 0x74]);
export const PROTOCOL_VERSION = 1;
/**
 * CLIENT_INFO's version byte from a client that also understands PEER_BUSY (the relay sends it to
 * no one else). A relay that knows only PROTOCOL_VERSION refuses it; the client then speaks 1.
 */
export const CLIENT_VERSION_PEER_BUSY = 2;
/** The server's per-connection challenge and the client's proof. */
export const CHALLENGE_LEN = 32;
export const PROOF_LEN = 32;
/** The coordinator-signed relay token is opaque here; this bounds it. */
export const MAX_TOKEN_LEN = 2048;
/** PING / PONG carry 8 opaque bytes. */
export const PING_LEN = 8;
/** HEALTH text, UTF-8; empty means healthy. */
export const MAX_HEALTH_LEN = 1024;

/** Frame type bytes. */
export const FRAME_SERVER_KEY = 0x01;
export const FRAME_CLIENT_INFO = 0x02;
export const FRAME_SERVER_INFO = 0x03;
export const FRAME_SEND_PACKET = 0x04;
export const FRAME_RECV_PACKET = 0x05;
export const FRAME_KEEPALIVE = 0x06;
export const FRAME_PING = 0x07;
export const FRAME_PONG = 0x08;
export const FRAME_PEER_GONE = 0x09;
export const FRAME_HEALTH = 0x0a;
export const FRAME_PEER_BUSY = 0x0b;

/** PEER_GONE reasons. Other values may appear from newer relays and mean "gone". */
export const PEER_GONE_DISCONNECTED = 0x00;
export const PEER_GONE_NOT_HERE = 0x01;
