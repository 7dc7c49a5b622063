/**
 * The network side of core: the relay client and the contract it speaks, the libp2p nodes, signed
 * gossip. A separate entry point (`@cipherclerk/core/net`) so that code which never touches the
 * network does not load libp2p. Call `installLibp2pShims()` (or, in Node 20, import
 * `@cipherclerk/core/node`, which installs them) before creating a node.
 */
export * from './client.ts';
export * from './contract.ts';
export * from './deposits.ts';
export * from './federation.ts';
export * from './gossip.ts';
export * from './limits.ts';
export * from './node.ts';
export * from './rpc.ts';
export * from './shims.ts';
