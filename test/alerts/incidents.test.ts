// The Alertmanager webhook and incidents on SQLite (the default store).
import { incidentsSuite } from './incidents-suite.ts';

incidentsSuite('sqlite', async () => ({ stop: async () => {} }));
