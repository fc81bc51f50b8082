// The access API and store on SQLite (the coordinator's default database).
import { accessSuite } from './access-suite.ts';

accessSuite('sqlite', async () => ({ stop: async () => {} }));
