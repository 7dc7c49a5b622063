export * from './caveats.ts';
export * from './chain.ts';
export * from './envelope.ts';
export * from './request.ts';
export * from './revocation.ts';
export * from './rights.ts';
export * from './token.ts';
export * from './trust.ts';
