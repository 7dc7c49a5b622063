export * from './cell.ts';
export * from './ledger-root.ts';
