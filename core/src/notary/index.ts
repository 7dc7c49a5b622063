export {
  decodeInclusion,
  encodeInclusion,
  type Inclusion,
  verifyReceiptInclusion,
} from './inclusion.ts';
export {
  decodeLogEvent,
  encodeLogEvent,
  LOG_VERSION,
  type LogEvent,
  type LogEventKind,
  logEventDigest,
  logTree,
} from './log.ts';
export {
  NOTARY_COLLECTIONS,
  type Notarized,
  type Notary,
  type NotaryOptions,
  openNotary,
  type SupplyAudit,
} from './notary.ts';
export {
  type AttestedRoot,
  type AttestedRootBody,
  attestedRootDigest,
  decodeAttestedRoot,
  encodeAttestedRoot,
  signAttestedRoot,
  verifyAttestedRoot,
} from './root.ts';
