/**
 * Builds the dashboard (web/dist) once for the whole e2e run: every spec that serves it reads the same
 * production bundle, so building it in each spec's beforeAll only repeated the same work.
 */
import { join } from 'node:path';
import { build } from 'vite';

export default async function globalSetup(): Promise<void> {
  await build({ configFile: join(import.meta.dirname, '..', 'vite.config.ts'), logLevel: 'warn' });
}
