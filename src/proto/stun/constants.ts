// Constants of STUN, RFC 8489 ("Session Traversal Utilities for NAT"), with the section that
// defines each. Only what sallyport speaks is named; every other attribute is carried raw.

/** §5: the fixed header is 20 bytes. */
export const HEADER_LEN = 20;
/** §5: the magic cookie, in network order at bytes 4..7 of every RFC 5389/8489 message. */
export const MAGIC_COOKIE = 0x2112a442;
/** §5: the transaction id is 96 bits. */
export const TRANSACTION_ID_LEN = 12;
/** §6.1: a UDP message should fit an unfragmented datagram; we refuse to build larger than this. */
export const MAX_MESSAGE_LEN = 65535 + HEADER_LEN;

/** §5: the class bits C1 C0 of the message type. */
export const CLASS_REQUEST = 0b00;
export const CLASS_INDICATION = 0b01;
export const CLASS_SUCCESS = 0b10;
export const CLASS_ERROR = 0b11;

/** §18.2: the Binding method. */
export const METHOD_BINDING = 0x001;

/** §18.3.1 (comprehension-required, 0x0000-0x7FFF) and §18.3.2 (comprehension-optional). */
export const ATTR_MAPPED_ADDRESS = 0x0001; // §14.1
export const ATTR_USERNAME = 0x0006; // §14.3
export const ATTR_MESSAGE_INTEGRITY = 0x0008; // §14.5
export const ATTR_ERROR_CODE = 0x0009; // §14.8
export const ATTR_UNKNOWN_ATTRIBUTES = 0x000a; // §14.9
export const ATTR_MESSAGE_INTEGRITY_SHA256 = 0x001c; // §14.6 (not implemented: reported unknown)
export const ATTR_XOR_MAPPED_ADDRESS = 0x0020; // §14.2
export const ATTR_SOFTWARE = 0x8022; // §14.14
export const ATTR_FINGERPRINT = 0x8028; // §14.7

/** §14: attribute types below this must be understood by the receiver. */
export const COMPREHENSION_OPTIONAL_MIN = 0x8000;

/** §14.1: address family codes. */
export const FAMILY_IPV4 = 0x01;
export const FAMILY_IPV6 = 0x02;

/** §14.5: MESSAGE-INTEGRITY is an HMAC-SHA1, 20 bytes. */
export const INTEGRITY_LEN = 20;
/** §14.7: FINGERPRINT is CRC-32 of the message XOR this constant ("STUN"). */
export const FINGERPRINT_XOR = 0x5354554e;
export const FINGERPRINT_LEN = 4;

/** §14.3: USERNAME is at most 513 bytes. */
export const MAX_USERNAME_BYTES = 513;
/** §14.8 and §14.14: reason phrases and SOFTWARE are under 128 characters, at most 763 bytes. */
export const MAX_TEXT_BYTES = 763;

/** §15 error codes sallyport sends or reads. */
export const ERR_BAD_REQUEST = 400;
export const ERR_UNAUTHORIZED = 401;
export const ERR_UNKNOWN_ATTRIBUTE = 420;
export const ERR_SERVER_ERROR = 500;
