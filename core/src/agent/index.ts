export * from './agent.ts';
export * from './delegate.ts';
export * from './inspect.ts';
export * from './mint.ts';
export * from './receive.ts';
export { mintedToken, resolveCapability } from './resolve.ts';
export * from './revoke.ts';
export * from './verify.ts';
