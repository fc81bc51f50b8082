export {
  RelayClient,
  RelayClientError,
  backoffDelay,
  type RelayClientOptions,
  type RelayClientState,
  type RelayClientStats,
} from './relay-client.ts';
