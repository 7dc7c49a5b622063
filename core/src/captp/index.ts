/**
 * CapTP (`@cipherclerk/core/captp`): sessions between vats, live and sturdy references, three-party
 * handoff, promise pipelining and distributed GC (core/docs/captp.md). The core runs over any `Link`;
 * ./libp2p.ts puts a session on a libp2p stream, directly or through a relay's circuit.
 */
export * from './handoff.ts';
export * from './letters.ts';
export * from './libp2p.ts';
export * from './link.ts';
export * from './refs.ts';
export * from './session.ts';
export * from './sturdy.ts';
export * from './swiss-table.ts';
export * from './vat.ts';
export * from './wire.ts';
