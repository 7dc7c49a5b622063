export * from './cells.ts';
export * from './router.ts';
export * from './firmament.ts';
