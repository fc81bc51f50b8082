// The access API and store on PostgreSQL: the same suite, including concurrent approvals.
import { test } from 'node:test';
import { accessSuite } from './access-suite.ts';
import { needs } from '../../src/testing/require.ts';
import { postgresMissing, startPostgres } from '../../src/testing/postgres.ts';

const missing = postgresMissing();
if (missing) test('access API on postgres', (t) => void needs(t, missing));
else accessSuite('postgres', async () => startPostgres());
