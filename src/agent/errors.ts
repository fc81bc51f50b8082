import { SallyportError } from '../util/index.ts';

/**
 * An agent failure. Codes: `AGENT_STATE` (state directory or key file unusable), `AGENT_CONFIG`
 * (bad --serve / config file / options), `AGENT_CONTROL` (control socket request failed),
 * `AGENT_NO_SUCH_SERVICE`, `AGENT_NO_PEER`, `AGENT_PEER_UNKNOWN` / `AGENT_PEER_AMBIGUOUS` (`ping`'s peer
 * names none or several), `AGENT_NO_DIRECT` (a diagnosis that needs the UDP socket), `AGENT_STOPPED`, `AGENT_TIMEOUT` (the coordinator did not
 * answer in time), `AGENT_GRANT_ENDED` (a stream cut at its grant's or certificate's end), `AGENT_REFUSED` (the coordinator refused, e.g. a certificate for an unknown grant).
 */
export class AgentError extends SallyportError {}
