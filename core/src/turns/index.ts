export { attestationDigest, type BridgeEvent, signAttestation } from './apply/bridge.ts';
export { noteId, nullifier, rangeContext } from './apply/privacy.ts';
export type { EmittedEvent, ExecEnv } from './context.ts';
export * from './effects.ts';
export * from './executor.ts';
export * from './receipt.ts';
export * from './turn.ts';
