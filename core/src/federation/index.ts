export * from './attest.ts';
export * from './block.ts';
export * from './blocklace.ts';
export * from './committee.ts';
export * from './membership.ts';
export * from './miner.ts';
export * from './order.ts';
export * from './settle.ts';
