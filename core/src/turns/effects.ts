/**
 * The 24 effects of the Effect VM (seed 000) as data: their types, their parameters, and one validator
 * that reads them from decoded CBOR (a signed turn) or from JSON (an effects file). Every refusal is
 * `E_INVALID` naming the field (`effects[2].amount: ...`). What each effect does is in `./apply/`, and
 * the table in core/docs/effects.md.
 *
 * Effect types are whole kebab-case names; they double as the action names a handle's `actions`
 * caveat lists (its effect mask), so "may transfer" is `{t: 'actions', actions: ['transfer']}`.
 */
import { type Caveat, caveatFromCbor, caveatToCbor, DID_SHAPE, isName } from '../caps/caveats.ts';
import { fromHex } from '../encoding/bytes.ts';
import { type CborMap, type CborValue, encodeCbor, isCborMap } from '../encoding/cbor.ts';
import { ed25519FromDidKey } from '../encoding/did-key.ts';
import { DreggError, quoted } from '../errors.ts';
import { isAssetId } from './assets.ts';

export const EFFECT_GROUPS = {
  state: ['set-field', 'create-cell', 'increment-nonce', 'set-permissions', 'set-verification-key'],
  transfer: ['transfer', 'burn'],
  capabilities: ['grant-capability', 'revoke-capability', 'revoke-delegation', 'spawn-with-delegation'],
  events: ['emit-event'],
  privacy: ['note-spend', 'note-create'],
  sealing: ['create-seal-pair', 'seal', 'unseal'],
  messaging: ['introduce', 'pipelined-send', 'create-obligation'],
  bridge: ['bridge-mint', 'bridge-lock', 'bridge-finalize', 'bridge-cancel'],
} as const;

export type EffectType = (typeof EFFECT_GROUPS)[keyof typeof EFFECT_GROUPS][number];
export const EFFECT_TYPES: readonly EffectType[] = Object.values(EFFECT_GROUPS).flat();

/** A cell named by id (64 hex), or `$n`: the cell effect n of this turn created (pipelining). */
export type CellRef = string;
/** How the acting agent claims authority over a cell it does not own. */
export type Via = { slot: number } | { chain: string };
/** Who may cause an effect on a cell without holding a handle: its owner (default), anyone, nobody. */
export type Permission = 'owner' | 'anyone' | 'none';
export type Lifecycle = 'active' | 'frozen';
/** A field value: text, an integer, bytes, a boolean (null deletes the field). */
export type FieldValue = string | number | bigint | boolean | Uint8Array;
/** The source a derived handle comes from: a slot of the acting cell, or ownership of a cell. */
export type Source = { slot: number } | { cell: CellRef };

export type Effect =
  | { type: 'set-field'; cell: CellRef; key: string; value: FieldValue | null; via?: Via }
  | { type: 'create-cell'; salt: string; balance?: bigint; owner?: string }
  | { type: 'increment-nonce'; cell: CellRef; via?: Via }
  | {
      type: 'set-permissions';
      cell: CellRef;
      permissions?: Partial<Record<EffectType, Permission>>;
      lifecycle?: Lifecycle;
      /** A new owner (did:key): the cell's ownership moves, its id stays (ids are never re-derived). */
      owner?: string;
    }
  | { type: 'set-verification-key'; cell: CellRef; key: string | null }
  | {
      type: 'transfer';
      from?: CellRef;
      obligation?: string;
      to: CellRef;
      amount: bigint;
      /** A wrapped asset (assets.ts); absent: computrons. */
      asset?: string;
      via?: Via;
    }
  | { type: 'burn'; cell: CellRef; amount: bigint; asset?: string; via?: Via }
  | {
      type: 'grant-capability';
      source: Source;
      to: CellRef;
      caveats: readonly Caveat[];
      revocable?: boolean;
      via?: Via;
    }
  | { type: 'revoke-capability'; cell: CellRef; slot: number; via?: Via }
  | { type: 'revoke-delegation'; channel: string }
  | {
      type: 'spawn-with-delegation';
      salt: string;
      balance?: bigint;
      owner?: string;
      grants: readonly { source: Source; caveats: readonly Caveat[] }[];
    }
  | { type: 'emit-event'; topic: string; data: FieldValue | null }
  | { type: 'note-spend'; note: string; to?: CellRef; amount?: bigint }
  | {
      type: 'note-create';
      commitment: Uint8Array;
      owner: string;
      proof: Uint8Array;
      from?: CellRef;
      amount?: bigint;
    }
  | { type: 'create-seal-pair' }
  | { type: 'seal'; sealer: number; slot: number; caveats: readonly Caveat[] }
  | { type: 'unseal'; unsealer: number; box: string }
  | { type: 'introduce'; slot: number; to: number; caveats: readonly Caveat[] }
  | { type: 'pipelined-send'; to: CellRef; topic: string; data: FieldValue | null; via?: Via }
  | {
      type: 'create-obligation';
      from: CellRef;
      to: CellRef;
      amount: bigint;
      /** A wrapped asset the obligation holds and pays out; absent: computrons. */
      asset?: string;
      due: number;
      via?: Via;
    }
  | {
      type: 'bridge-mint';
      federation: string;
      lock: string;
      amount: bigint;
      to: CellRef;
      /** The lock's expiry on the source side (attested): no mint once it is near. */
      expires: number;
      attestation: Uint8Array;
    }
  | {
      type: 'bridge-lock';
      from: CellRef;
      amount: bigint;
      federation: string;
      recipient: string;
      expires: number;
      via?: Via;
    }
  | { type: 'bridge-finalize'; lock: string; attestation: Uint8Array }
  | { type: 'bridge-cancel'; lock: string; attestation?: Uint8Array };

export type EffectOf<T extends EffectType> = Extract<Effect, { type: T }>;

/**
 * The parameter naming the cell an effect's `via` handle is exercised on: for the effects that take
 * a `via`, the one their authority is checked against (and a delegation chain must lead to).
 */
export const VIA_TARGET = {
  'set-field': 'cell',
  'increment-nonce': 'cell',
  burn: 'cell',
  'revoke-capability': 'cell',
  transfer: 'from',
  'create-obligation': 'from',
  'bridge-lock': 'from',
  'grant-capability': 'to',
  'pipelined-send': 'to',
} as const satisfies Partial<Record<EffectType, string>>;

/** The cell an effect's `via` handle is exercised on, if the effect takes one. */
export function viaTarget(e: Effect): CellRef | undefined {
  const param = (VIA_TARGET as Partial<Record<EffectType, string>>)[e.type];
  return param === undefined
    ? undefined
    : ((e as unknown as Record<string, CellRef | undefined>)[param] ?? undefined);
}

/** Largest amount of computrons anywhere (balances, transfers): unsigned 64-bit. */
export const MAX_AMOUNT = (1n << 64n) - 1n;
export const MAX_EFFECTS = 64;
/** Range proofs are the costliest check (hundreds of ms each): bounded per turn. */
export const MAX_NOTE_OUTPUTS = 4;
export const MAX_SLOT = 0xffff;
/** Largest encoded field or event value. */
export const MAX_VALUE_BYTES = 4096;

const HEX64 = /^[0-9a-f]{64}$/;
const HEX32 = /^[0-9a-f]{32}$/;
const CELL_REF = /^(?:[0-9a-f]{64}|\$[0-9]{1,2})$/;
const FIELD_KEY = /^[a-zA-Z0-9_.:-]{1,64}$/;
const FEDERATION = /^[a-z0-9][a-z0-9.-]{0,62}$/;

/** Where a value comes from: CBOR (bytes are byte strings) or JSON (bytes are `{"hex": ...}`, amounts may be strings). */
type Source_ = 'cbor' | 'json';

class Reader {
  constructor(
    readonly m: CborMap,
    readonly path: string,
    readonly from: Source_,
  ) {}

  bad(key: string, why: string): never {
    throw new DreggError('E_INVALID', `${this.path}.${key}: ${why}`);
  }

  has(key: string): boolean {
    return this.m[key] !== undefined && this.m[key] !== null;
  }

  raw(key: string): CborValue {
    const v = this.m[key];
    if (v === undefined) this.bad(key, 'is required');
    return v;
  }

  pattern(key: string, re: RegExp, what: string): string {
    const v = this.raw(key);
    if (typeof v !== 'string' || !re.test(v)) this.bad(key, `must be ${what}`);
    return v;
  }

  cell(key: string): CellRef {
    return this.pattern(key, CELL_REF, 'a cell id (64 hex digits) or $n, the cell effect n created');
  }

  did(key: string): string {
    const did = this.pattern(key, DID_SHAPE, 'an Ed25519 did:key');
    try {
      ed25519FromDidKey(did); // a real key, or nobody could ever act for it
    } catch {
      this.bad(key, 'is not a valid Ed25519 did:key');
    }
    return did;
  }

  uint(key: string, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.raw(key);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max)
      this.bad(key, `must be a whole number from 0 to ${max}`);
    return v;
  }

  amount(key: string, positive = true): bigint {
    let v = this.raw(key);
    if (this.from === 'json' && typeof v === 'string' && /^[0-9]{1,20}$/.test(v)) v = BigInt(v);
    if (typeof v === 'number' && Number.isSafeInteger(v)) v = BigInt(v);
    if (typeof v !== 'bigint' || v < (positive ? 1n : 0n) || v > MAX_AMOUNT)
      this.bad(
        key,
        `must be a ${positive ? 'positive' : 'non-negative'} whole number of computrons below 2^64`,
      );
    return v;
  }

  bytes(key: string, length?: number): Uint8Array {
    let v = this.raw(key);
    if (this.from === 'json' && isCborMap(v) && typeof v.hex === 'string' && /^([0-9a-f]{2})*$/.test(v.hex))
      v = fromHex(v.hex);
    else if (this.from === 'json' && typeof v === 'string' && /^([0-9a-f]{2})+$/.test(v)) v = fromHex(v);
    if (!(v instanceof Uint8Array) || (length !== undefined && v.length !== length))
      this.bad(key, length === undefined ? 'must be bytes' : `must be ${length} bytes`);
    return v;
  }

  value(key: string): FieldValue | null {
    let v = this.raw(key);
    if (this.from === 'json' && isCborMap(v)) v = this.bytes(key);
    if (
      !(
        v === null ||
        typeof v === 'string' ||
        typeof v === 'number' ||
        typeof v === 'bigint' ||
        typeof v === 'boolean' ||
        v instanceof Uint8Array
      )
    )
      this.bad(key, 'must be text, an integer, a boolean, bytes or null');
    if (v !== null && encodeCbor(v).length > MAX_VALUE_BYTES)
      this.bad(key, `must encode to at most ${MAX_VALUE_BYTES} bytes`);
    return v;
  }

  asset(key: string): string {
    const v = this.raw(key);
    if (!isAssetId(v)) this.bad(key, 'must be an asset id (a name: lowercase letters, digits, . - _ : /)');
    return v;
  }

  name(key: string): string {
    const v = this.raw(key);
    if (!isName(v)) this.bad(key, 'must be a name (lowercase letters, digits, . - _ : /)');
    return v;
  }

  caveats(key: string): Caveat[] {
    if (!this.has(key)) return [];
    const v = this.raw(key);
    if (!Array.isArray(v) || v.length > 16) this.bad(key, 'must be a list of at most 16 caveats');
    return v.map((c, i) => {
      try {
        return caveatFromCbor(c);
      } catch (e) {
        return this.bad(`${key}[${i}]`, (e as Error).message);
      }
    });
  }

  via(): Via | undefined {
    if (!this.has('via')) return undefined;
    const v = this.raw('via');
    const r = isCborMap(v)
      ? new Reader(v, `${this.path}.via`, this.from)
      : this.bad('via', 'must be {slot} or {chain}');
    exactKeys(r, [], ['slot', 'chain']);
    if (r.has('slot') === r.has('chain')) this.bad('via', 'names exactly one of slot or chain');
    return r.has('slot')
      ? { slot: r.uint('slot', MAX_SLOT) }
      : { chain: r.pattern('chain', /^ccdel_[A-Za-z0-9_-]{16,16000}$/, 'a delegation (ccdel_...)') };
  }

  source(key: string): Source {
    const v = this.raw(key);
    const r = isCborMap(v)
      ? new Reader(v, `${this.path}.${key}`, this.from)
      : this.bad(key, 'must be {slot} or {cell}');
    exactKeys(r, [], ['slot', 'cell']);
    if (r.has('slot') === r.has('cell')) this.bad(key, 'names exactly one of slot or cell');
    return r.has('slot') ? { slot: r.uint('slot', MAX_SLOT) } : { cell: r.cell('cell') };
  }
}

function exactKeys(r: Reader, required: readonly string[], optional: readonly string[]): void {
  for (const k of Object.keys(r.m)) {
    if (!required.includes(k) && !optional.includes(k)) r.bad(k, 'is not a parameter of this effect');
  }
  for (const k of required) if (!r.has(k)) r.bad(k, 'is required');
}

const PERMISSIONS: readonly Permission[] = ['owner', 'anyone', 'none'];

function permissions(r: Reader): Partial<Record<EffectType, Permission>> | undefined {
  if (!r.has('permissions')) return undefined;
  const v = r.raw('permissions');
  if (!isCborMap(v)) r.bad('permissions', 'must map effect names to owner, anyone or none');
  const out: Partial<Record<EffectType, Permission>> = {};
  for (const [k, p] of Object.entries(v)) {
    if (!EFFECT_TYPES.includes(k as EffectType)) r.bad(`permissions.${k}`, 'is not an effect');
    if (!PERMISSIONS.includes(p as Permission)) r.bad(`permissions.${k}`, 'must be owner, anyone or none');
    out[k as EffectType] = p as Permission;
  }
  return out;
}

function opt<T>(r: Reader, key: string, read: (key: string) => T): T | undefined {
  return r.has(key) ? read(key) : undefined;
}

/** Reads one effect; `path` names it in errors (e.g. `effects[3]`). Fails only with `E_INVALID`. */
export function effectFromValue(v: CborValue, path: string, from: Source_ = 'cbor'): Effect {
  if (!isCborMap(v)) throw new DreggError('E_INVALID', `${path}: an effect is a map with a "type"`);
  const type = v.type;
  if (!EFFECT_TYPES.includes(type as EffectType)) {
    throw new DreggError(
      'E_INVALID',
      `${path}.type: unknown effect ${quoted(type)} (one of ${EFFECT_TYPES.join(', ')})`,
    );
  }
  const r = new Reader(v, path, from);
  const keys = (required: string[], optional: string[] = []) => exactKeys(r, ['type', ...required], optional);
  const cellOpt = (k: string) => opt(r, k, (x) => r.cell(x));
  switch (type as EffectType) {
    case 'set-field':
      keys(['cell', 'key'], ['value', 'via']);
      return {
        type: 'set-field',
        cell: r.cell('cell'),
        key: r.pattern('key', FIELD_KEY, 'a field name of 1-64 letters, digits, _ . : -'),
        value: r.m.value === undefined ? r.bad('value', 'is required (null deletes)') : r.value('value'),
        via: r.via(),
      };
    case 'create-cell':
      keys(['salt'], ['balance', 'owner']);
      return {
        type: 'create-cell',
        salt: r.pattern('salt', HEX64, '32 bytes in hex'),
        // Absent stays absent (executed as 0): a decoded turn must encode to the bytes its signer signed.
        balance: opt(r, 'balance', (k) => r.amount(k, false)),
        owner: opt(r, 'owner', (k) => r.did(k)),
      };
    case 'increment-nonce':
      keys(['cell'], ['via']);
      return { type: 'increment-nonce', cell: r.cell('cell'), via: r.via() };
    case 'set-permissions': {
      keys(['cell'], ['permissions', 'lifecycle', 'owner']);
      const lifecycle = opt(
        r,
        'lifecycle',
        (k) => r.pattern(k, /^(active|frozen)$/, 'active or frozen') as Lifecycle,
      );
      const p = permissions(r);
      // Absent stays absent: a decoded turn must encode to the bytes its signer signed.
      const owner = opt(r, 'owner', (k) => r.did(k));
      if (p === undefined && lifecycle === undefined && owner === undefined)
        r.bad('permissions', 'or lifecycle or owner is required');
      return { type: 'set-permissions', cell: r.cell('cell'), permissions: p, lifecycle, owner };
    }
    case 'set-verification-key':
      keys(['cell'], ['key']);
      return { type: 'set-verification-key', cell: r.cell('cell'), key: r.has('key') ? r.did('key') : null };
    case 'transfer': {
      keys(['to', 'amount'], ['from', 'obligation', 'asset', 'via']);
      if (r.has('from') === r.has('obligation'))
        r.bad('from', 'exactly one of from or obligation is required');
      return {
        type: 'transfer',
        from: cellOpt('from'),
        obligation: opt(r, 'obligation', (k) => r.pattern(k, HEX32, 'an obligation id')),
        to: r.cell('to'),
        amount: r.amount('amount'),
        asset: opt(r, 'asset', (k) => r.asset(k)),
        via: r.via(),
      };
    }
    case 'burn':
      keys(['cell', 'amount'], ['asset', 'via']);
      return {
        type: 'burn',
        cell: r.cell('cell'),
        amount: r.amount('amount'),
        asset: opt(r, 'asset', (k) => r.asset(k)),
        via: r.via(),
      };
    case 'grant-capability':
      keys(['source', 'to'], ['caveats', 'revocable', 'via']);
      return {
        type: 'grant-capability',
        source: r.source('source'),
        to: r.cell('to'),
        caveats: r.caveats('caveats'),
        revocable: opt(r, 'revocable', (k) =>
          typeof r.m[k] === 'boolean' ? (r.m[k] as boolean) : r.bad(k, 'must be true or false'),
        ),
        via: r.via(),
      };
    case 'revoke-capability':
      keys(['cell', 'slot'], ['via']);
      return {
        type: 'revoke-capability',
        cell: r.cell('cell'),
        slot: r.uint('slot', MAX_SLOT),
        via: r.via(),
      };
    case 'revoke-delegation':
      keys(['channel']);
      return {
        type: 'revoke-delegation',
        channel: r.pattern('channel', HEX32, 'a channel id (32 hex digits)'),
      };
    case 'spawn-with-delegation': {
      keys(['salt', 'grants'], ['balance', 'owner']);
      const g = r.raw('grants');
      const list =
        Array.isArray(g) && g.length <= 16
          ? g
          : r.bad('grants', 'must be a list of at most 16 {source, caveats}');
      const grants = list.map((x, i) => {
        const gr = isCborMap(x)
          ? new Reader(x, `${path}.grants[${i}]`, from)
          : r.bad(`grants[${i}]`, 'must be {source, caveats}');
        exactKeys(gr, ['source'], ['caveats']);
        return { source: gr.source('source'), caveats: gr.caveats('caveats') };
      });
      return {
        type: 'spawn-with-delegation',
        salt: r.pattern('salt', HEX64, '32 bytes in hex'),
        // Absent stays absent (executed as 0): a decoded turn must encode to the bytes its signer signed.
        balance: opt(r, 'balance', (k) => r.amount(k, false)),
        owner: opt(r, 'owner', (k) => r.did(k)),
        grants,
      };
    }
    case 'emit-event':
      keys(['topic'], ['data']);
      return { type: 'emit-event', topic: r.name('topic'), data: r.has('data') ? r.value('data') : null };
    case 'note-spend': {
      keys(['note'], ['to', 'amount']);
      if (r.has('to') !== r.has('amount')) r.bad('to', 'and amount come together (a public withdrawal)');
      return {
        type: 'note-spend',
        note: r.pattern('note', HEX64, 'a note id (64 hex digits)'),
        to: cellOpt('to'),
        amount: opt(r, 'amount', (k) => r.amount(k)),
      };
    }
    case 'note-create': {
      keys(['commitment', 'owner', 'proof'], ['from', 'amount']);
      if (r.has('from') !== r.has('amount')) r.bad('from', 'and amount come together (a public deposit)');
      return {
        type: 'note-create',
        commitment: r.bytes('commitment', 32),
        owner: r.did('owner'),
        proof: r.bytes('proof'),
        from: cellOpt('from'),
        amount: opt(r, 'amount', (k) => r.amount(k)),
      };
    }
    case 'create-seal-pair':
      keys([]);
      return { type: 'create-seal-pair' };
    case 'seal':
      keys(['sealer', 'slot'], ['caveats']);
      return {
        type: 'seal',
        sealer: r.uint('sealer', MAX_SLOT),
        slot: r.uint('slot', MAX_SLOT),
        caveats: r.caveats('caveats'),
      };
    case 'unseal':
      keys(['unsealer', 'box']);
      return {
        type: 'unseal',
        unsealer: r.uint('unsealer', MAX_SLOT),
        box: r.pattern('box', HEX32, 'a box id (32 hex digits)'),
      };
    case 'introduce':
      keys(['slot', 'to'], ['caveats']);
      return {
        type: 'introduce',
        slot: r.uint('slot', MAX_SLOT),
        to: r.uint('to', MAX_SLOT),
        caveats: r.caveats('caveats'),
      };
    case 'pipelined-send':
      keys(['to', 'topic'], ['data', 'via']);
      return {
        type: 'pipelined-send',
        to: r.cell('to'),
        topic: r.name('topic'),
        data: r.has('data') ? r.value('data') : null,
        via: r.via(),
      };
    case 'create-obligation':
      keys(['from', 'to', 'amount', 'due'], ['asset', 'via']);
      return {
        type: 'create-obligation',
        from: r.cell('from'),
        to: r.cell('to'),
        amount: r.amount('amount'),
        asset: opt(r, 'asset', (k) => r.asset(k)),
        due: r.uint('due'),
        via: r.via(),
      };
    case 'bridge-mint':
      keys(['federation', 'lock', 'amount', 'to', 'expires', 'attestation']);
      return {
        type: 'bridge-mint',
        federation: r.pattern('federation', FEDERATION, 'a federation name'),
        lock: r.pattern('lock', HEX32, 'a lock id (32 hex digits)'),
        amount: r.amount('amount'),
        to: r.cell('to'),
        expires: r.uint('expires'),
        attestation: r.bytes('attestation', 64),
      };
    case 'bridge-lock':
      keys(['from', 'amount', 'federation', 'recipient', 'expires'], ['via']);
      return {
        type: 'bridge-lock',
        from: r.cell('from'),
        amount: r.amount('amount'),
        federation: r.pattern('federation', FEDERATION, 'a federation name'),
        recipient: r.did('recipient'),
        expires: r.uint('expires'),
        via: r.via(),
      };
    case 'bridge-finalize':
      keys(['lock', 'attestation']);
      return {
        type: 'bridge-finalize',
        lock: r.pattern('lock', HEX32, 'a lock id (32 hex digits)'),
        attestation: r.bytes('attestation', 64),
      };
    case 'bridge-cancel':
      keys(['lock'], ['attestation']);
      return {
        type: 'bridge-cancel',
        lock: r.pattern('lock', HEX32, 'a lock id (32 hex digits)'),
        attestation: opt(r, 'attestation', (k) => r.bytes(k, 64)),
      };
  }
}

/** The canonical CBOR form of an effect: what a turn's signature covers. Absent options are omitted. */
export function effectToCbor(e: Effect): CborMap {
  const out: CborMap = {};
  for (const [k, v] of Object.entries(e)) {
    if (v === undefined) continue;
    out[k] = toCbor(k, v);
  }
  return out;
}

function toCbor(key: string, v: unknown): CborValue {
  if (key === 'caveats') return (v as Caveat[]).map(caveatToCbor);
  if (key === 'grants')
    return (v as { source: Source; caveats: Caveat[] }[]).map((g) => ({
      source: { ...g.source },
      caveats: g.caveats.map(caveatToCbor),
    }));
  if (typeof v === 'object' && v !== null && !(v instanceof Uint8Array)) return { ...(v as CborMap) };
  return v as CborValue;
}

/** Effects of a turn from decoded CBOR or JSON; at most `MAX_EFFECTS`, at least one. */
export function effectsFromValue(v: CborValue | undefined, from: Source_ = 'cbor'): Effect[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_EFFECTS) {
    throw new DreggError('E_INVALID', `effects: must be a list of 1 to ${MAX_EFFECTS} effects`);
  }
  const effects = v.map((e, i) => effectFromValue(e, `effects[${i}]`, from));
  validated.add(effects);
  if (effects.filter((e) => e.type === 'note-create').length > MAX_NOTE_OUTPUTS) {
    throw new DreggError(
      'E_INVALID',
      `effects: at most ${MAX_NOTE_OUTPUTS} note-create per turn (each range proof costs the executor)`,
    );
  }
  return effects;
}

/**
 * Effects built in memory (by an SDK, not decoded) pass through the same validator, via their
 * canonical encoding — what the signature covers is exactly what is checked.
 */
export function checkEffects(effects: readonly Effect[]): readonly Effect[] {
  return validated.has(effects) ? effects : effectsFromValue(effects.map(effectToCbor));
}

/** Effect lists this module produced (decoded or checked): immutable by convention, never re-checked. */
const validated = new WeakSet<readonly Effect[]>();
