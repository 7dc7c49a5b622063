/** Node-only parts of core: the `dregg` CLI and the home directory it keeps state in. */
import './native.ts';

export { main as dreggMain, USAGE } from './cli/main.ts';
export { defaultHome, openAgent, readState, saveAgent } from './home.ts';
