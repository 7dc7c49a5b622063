export * from './cells.ts';
export * from './router.ts';
