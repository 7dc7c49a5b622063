/** Node-only parts of core: the `dregg` CLI, the home directory it keeps state in, and the relay. */
import './native.ts';
import './libp2p-shims.ts';

export { main as dreggMain, USAGE } from './cli/main.ts';
export { defaultHome, openAgent, readState, saveAgent } from './home.ts';
export { type Relay, type RelayConfig, startRelay } from './relay/relay.ts';
