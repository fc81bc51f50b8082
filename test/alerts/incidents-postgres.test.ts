// The Alertmanager webhook and incidents on PostgreSQL (migration 0005_incidents there too).
import { test } from 'node:test';
import { incidentsSuite } from './incidents-suite.ts';
import { needs } from '../../src/testing/require.ts';
import { postgresMissing, startPostgres } from '../../src/testing/postgres.ts';

const missing = postgresMissing();
if (missing) test('alerts on postgres', (t) => void needs(t, missing));
else incidentsSuite('postgres', async () => startPostgres());
