// The shared store suite on SQLite (a file with WAL) and on a private PostgreSQL 15.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { storeSuite } from './suite.ts';
import { needs } from '../../src/testing/require.ts';
import { postgresMissing, startPostgres } from '../../src/testing/postgres.ts';

storeSuite('sqlite', {
  async setup() {
    const dir = mkdtempSync(join(tmpdir(), 'sallyport-store-'));
    return {
      cfg: { kind: 'sqlite', path: join(dir, 'coordinator.db') },
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
});

const missing = postgresMissing();
if (missing) test('store on postgres', (t) => void needs(t, missing));
else
  storeSuite('postgres', {
    async setup() {
      const pg = await startPostgres();
      return { cfg: { kind: 'postgres', url: pg.url }, cleanup: () => pg.stop() };
    },
  });
