// What the customer portal's routes need from the coordinator.
import type { Store } from '../../store/index.ts';
import type { AccessService } from '../access.ts';
import type { SessionAuth } from '../bearer.ts';

export interface CustomerApiDeps {
  auth: SessionAuth;
  store: Store;
  access: AccessService;
  /** The console's base URL, for invitation links. */
  consoleUrl(): string;
}
