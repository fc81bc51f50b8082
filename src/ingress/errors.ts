import { SallyportError } from '../util/index.ts';

/**
 * An ingress failure. Codes: `INGRESS_CONFIG` (a flag, route or allow list that cannot be
 * enforced: refused at start), `INGRESS_ALLOWLIST` (an allow-list file that does not parse),
 * `INGRESS_PROXY` (a PROXY protocol header that is malformed or missing), `INGRESS_HELLO` (a TLS
 * ClientHello that does not parse).
 */
export class IngressError extends SallyportError {}
