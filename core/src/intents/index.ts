export * from './client.ts';
export * from './escrow.ts';
export * from './intent.ts';
export * from './items.ts';
export * from './settle.ts';
export * from './solver.ts';
export * from './wire.ts';
export * from './zones.ts';
