export * from './local-cells.ts';
export * from './router.ts';
