/**
 * `npm start`: a relay and the dashboard pointed at it, on this machine. Starts `dregg relay` (as
 * before: opening grant 1000, HTTP on 127.0.0.1:4012, its default listen addresses), builds the
 * dashboard, serves it on 127.0.0.1 (PORT, default 4010) with a CSP that allows that relay only, and
 * prints the address to open. Ctrl-C stops both.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { build } from 'vite';
import { spawnRelay } from '../core/src/node/relay/spawn.ts';
import { serveDashboard } from '../web/serve.ts';

const root = join(import.meta.dirname, '..');
const home = process.env.DREGG_HOME ?? join(homedir(), '.cipherclerk');

const relay = await spawnRelay({ home, args: ['--grant', '1000', '--http', '127.0.0.1:4012'] });
const ws = relay.ready.multiaddrs.find((m) => /\/ws\//.test(m));
if (ws === undefined) {
  await relay.stop();
  throw new Error(
    `The relay offers no WebSocket address for the browser: ${relay.ready.multiaddrs.join(' ')}`,
  );
}
await build({ configFile: join(root, 'vite.config.ts'), logLevel: 'warn' });
const served = await serveDashboard({ relays: [ws], port: Number(process.env.PORT ?? 4010) });

console.log(`relay ${relay.ready.did}`);
console.log(`  listening on ${relay.ready.multiaddrs.join(' ')}; HTTP ${relay.ready.http}`);
console.log(`dashboard: open ${served.url}?relay=${encodeURIComponent(ws)}`);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await served.close();
  await relay.stop();
  process.exit(0);
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
relay.exited.then((exit) => {
  if (stopping) return;
  console.error(`the relay exited (${exit.code ?? exit.signal}); stopping`);
  served.close().then(() => process.exit(1));
});
