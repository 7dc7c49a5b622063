/** The effect table: one handler per effect type. Each returns its result (recorded in the receipt). */
import type { CborValue } from '../../encoding/cbor.ts';
import type { TurnContext } from '../context.ts';
import type { EffectOf, EffectType } from '../effects.ts';
import { bridgeCancel, bridgeFinalize, bridgeLock, bridgeMint } from './bridge.ts';
import { grantCapability, revokeCapability, revokeDelegation, spawnWithDelegation } from './capabilities.ts';
import { createObligation, emitEvent, introduce, pipelinedSend } from './messaging.ts';
import { noteCreate, noteSpend } from './privacy.ts';
import { createSealPair, seal, unseal } from './sealing.ts';
import { createCellEffect, incrementNonce, setField, setPermissions, setVerificationKey } from './state.ts';
import { burn, transfer } from './transfer.ts';

type Handlers = { [T in EffectType]: (ctx: TurnContext, e: EffectOf<T>) => CborValue };

export const HANDLERS: Handlers = {
  'set-field': setField,
  'create-cell': createCellEffect,
  'increment-nonce': incrementNonce,
  'set-permissions': setPermissions,
  'set-verification-key': setVerificationKey,
  transfer,
  burn,
  'grant-capability': grantCapability,
  'revoke-capability': revokeCapability,
  'revoke-delegation': revokeDelegation,
  'spawn-with-delegation': spawnWithDelegation,
  'emit-event': emitEvent,
  'note-spend': noteSpend,
  'note-create': noteCreate,
  'create-seal-pair': createSealPair,
  seal,
  unseal,
  introduce,
  'pipelined-send': pipelinedSend,
  'create-obligation': createObligation,
  'bridge-mint': bridgeMint,
  'bridge-lock': bridgeLock,
  'bridge-finalize': bridgeFinalize,
  'bridge-cancel': bridgeCancel,
};
