export * from './cells.ts';
export * from './firmament.ts';
export * from './router.ts';
