export * from './intent.ts';
export * from './items.ts';
export * from './settle.ts';
export * from './solver.ts';
export * from './zones.ts';
