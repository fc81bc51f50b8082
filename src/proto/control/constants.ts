// Constants of the agent channel (DESIGN.md §5 "Agent channel"; issue 4 contract).

/** The Noise protocol: IK with WireGuard's primitives; psk2 with an all-zero psk behaves as IK. */
export const CONTROL_PROTOCOL_NAME = 'Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s';
/** Noise prologue: binds the handshake to this channel (never valid as a WireGuard handshake). */
export const CONTROL_PROLOGUE = new TextEncoder().encode('sallyport control v1');
/** The psk slot of IKpsk2, unused: 32 zero bytes. */
export const ZERO_PSK = new Uint8Array(32);
/** The WebSocket path of the agent channel. */
export const AGENT_CHANNEL_PATH = '/agent/v1';
/**
 * The WebSocket close code of a coordinator that shuts down cleanly (RFC 6455 registry: 1012,
 * "Service Restart"): agents move to the next coordinator at once instead of backing off.
 */
export const DRAIN_CLOSE_CODE = 1012;
/** Hello/welcome `version`. */
export const CONTROL_VERSION = 1;

/** Largest handshake payload (hello or welcome JSON), bytes. */
export const MAX_HANDSHAKE_PAYLOAD = 64 * 1024;
/** Largest transport message plaintext (one JSON message), bytes. A netmap must fit. */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
/** Transport header: the 8-byte big-endian counter. */
export const COUNTER_LEN = 8;
/** Counters at or above this close the channel (far below the AEAD nonce limit). */
export const MAX_CHANNEL_COUNTER = 2n ** 48n;

/** Limits on message contents. */
export const LIMITS = {
  name: 63,
  address: 255,
  endpoints: 64,
  services: 256,
  labels: 32,
  labelValue: 128,
  preauthKey: 128,
  peers: 10_000,
  grants: 10_000,
  relays: 64,
  csr: 16 * 1024,
} as const;

/** A DNS label: service and deployment names become parts of tailnet names. */
export const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
