// WireGuard's protocol constants (whitepaper §6.1 "Preliminaries"; wireguard-go device/constants.go).

/** Noise protocol name, WireGuard's "construction" (whitepaper §5.4). */
export const CONSTRUCTION = 'Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s';
/** Noise prologue, WireGuard's "identifier" (whitepaper §5.4). */
export const IDENTIFIER = 'WireGuard v1 zx2c4 Jason@zx2c4.com';
/** Label of the mac1 key: HASH(LABEL_MAC1 ‖ S_pub) (whitepaper §5.4.4). */
export const LABEL_MAC1 = 'mac1----';
/** Label of the cookie key: HASH(LABEL_COOKIE ‖ S_pub) (whitepaper §5.4.7). */
export const LABEL_COOKIE = 'cookie--';

/** Send a new handshake after this many messages under one keypair: 2^60. */
export const REKEY_AFTER_MESSAGES = 1n << 60n;
/** Never use a keypair for this many messages: 2^64 − 2^13 − 1. */
export const REJECT_AFTER_MESSAGES = 0xffff_ffff_ffff_ffffn - (1n << 13n);
/** The initiator rekeys when sending under a keypair older than this (ms). */
export const REKEY_AFTER_TIME = 120_000;
/** No keypair is used after this age (ms). */
export const REJECT_AFTER_TIME = 180_000;
/** Give up on a handshake after this long (ms): the budget of MAX_TIMER_HANDSHAKES retries. */
export const REKEY_ATTEMPT_TIME = 90_000;
/** Retransmit an unanswered initiation after this (ms), plus jitter. */
export const REKEY_TIMEOUT = 5_000;
/** Jitter added to REKEY_TIMEOUT: uniform in [0, REKEY_TIMEOUT_JITTER_MAX_MS) ms (wireguard-go: 334). */
export const REKEY_TIMEOUT_JITTER_MAX_MS = 334;
/** Retries before giving up: REKEY_ATTEMPT_TIME / REKEY_TIMEOUT = 18 (wireguard-go MaxTimerHandshakes). */
export const MAX_TIMER_HANDSHAKES = REKEY_ATTEMPT_TIME / REKEY_TIMEOUT;
/** Passive keepalive after receiving data and sending nothing for this long (ms). */
export const KEEPALIVE_TIMEOUT = 10_000;
/** The cookie secret rotates, and a received cookie expires, after this long (ms). */
export const COOKIE_REFRESH_TIME = 120_000;
/** At most one initiation per peer is consumed per this interval (ms): 50 per second. */
export const HANDSHAKE_INITIATION_RATE = 20;
/** Transport payloads are zero-padded to a multiple of this. */
export const PADDING_MULTIPLE = 16;
/** Packets staged per peer while it has no keypair (wireguard-go QueueStagedSize); oldest dropped first. */
export const MAX_STAGED_PACKETS = 128;
