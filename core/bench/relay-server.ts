/**
 * The relay the load benchmark talks to, in its own process (as in production, so the clients' CPU
 * is not the relay's): `tsx bench/relay-server.ts HOME`. Per-peer admission is opened up, because
 * the benchmark's few client nodes each stand for many users. Prints the ready line, stops on SIGTERM.
 */
import '../src/node/libp2p-shims.ts';
import '../src/node/native.ts';
import { startRelay } from '../src/node/relay/relay.ts';

const relay = await startRelay({
  home: process.argv[2]!,
  listen: ['/ip4/127.0.0.1/tcp/0/ws'],
  ledger: 'main',
  grant: 1_000_000_000n,
  log: () => {},
  netLimits: {
    rpcInFlightPerPeer: 256,
    rpcRatePerSecond: 100_000,
    rpcBurst: 100_000,
    rpcMaxInboundStreams: 1024,
  },
});
process.stdout.write(`${JSON.stringify({ multiaddrs: relay.multiaddrs })}\n`);
process.once('SIGTERM', () => void relay.stop().then(() => process.exit(0)));
