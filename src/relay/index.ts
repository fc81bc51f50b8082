export { RelayServer, type RelayAddress } from './server.ts';
export type { RelayServerOptions } from './options.ts';
export { RelayServerError } from './errors.ts';
export {
  RelayStats,
  DROP_REASONS,
  REFUSAL_REASONS,
  DISCONNECT_REASONS,
  type DropReason,
  type RefusalReason,
  type DisconnectReason,
} from './metrics.ts';
export { FrameQueue } from './queue.ts';
export { StunResponder, STUN_SOFTWARE } from './stun.ts';
export { RELAY_PATH, UPGRADE_TOKEN } from './http.ts';
