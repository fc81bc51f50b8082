// The coordinator: admin API, agent channel, netmap computation and push.
export { Coordinator, type CoordinatorOptions } from './server.ts';
export { ControlClient, ChannelRefusedError, type ControlClientOptions } from './client.ts';
export { initiate, finishInitiator, accept, respond } from './channel-noise.ts';
export {
  computeNetmap,
  nextTimeChange,
  tailnetName,
  grantCovers,
  isActiveGrant,
  isLiveNode,
  type NetmapContext,
} from './netmap.ts';
export { affectedNodes, type Change, type AffectedLookup } from './affected.ts';
export {
  parseRelaySpec,
  relayEntries,
  RELAY_TOKEN_LIFETIME_MS,
  RELAY_TOKEN_REFRESH_MS,
  type RelayConfig,
} from './relays.ts';
export { Hub, Session } from './hub.ts';
export { ControlError } from './errors.ts';
export { createLogger, REDACT_PATHS, type Logger } from './logger.ts';
export { createMetrics, type ControlMetrics } from './metrics.ts';
export { loadOrCreateKeys, loadOrCreateTls, type CoordinatorKeys, type ListenerTls } from './keys.ts';
export { createAuditSigner, DEFAULT_CHECKPOINT_EVERY } from './audit-signer.ts';
export { ApiClient, ApiError, type ApiClientOptions, type RawAnswer, type ErrorBody } from './api-client.ts';
// Every JSON route declared once, with its schema and types (routes/); the client calls them by declaration.
export * from './routes/index.ts';
export { AccessService, type AccessServiceOptions } from './access.ts';
export { Webhooks, webhookBody, parseWebhookUrls, type WebhookOptions } from './webhooks.ts';
export { DeviceLoginGuard, deviceStartBody, CHALLENGE_TTL_MS } from './device-login.ts';
export { RefusalAudit, REFUSALS_PER_WINDOW, REFUSAL_WINDOW_MS } from './refusal-audit.ts';
