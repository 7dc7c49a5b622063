/**
 * One conformance suite for every router backing. A backing under test supplies a router with that
 * backing registered, a handle the holder has (with an effect mask and an expiry), an invocation the
 * mask allows and one it does not, and a recipient for grants. The same widening must be refused with
 * the same code (`E_WIDENING`) by the router and by the backing itself when called directly.
 */
import { describe, expect, it } from 'vitest';
import type { Caveat } from '../../src/caps/caveats.ts';
import { type Handle, handleRights } from '../../src/caps/handle.ts';
import { narrows } from '../../src/caps/rights.ts';
import type { Backing, Invocation, Router } from '../../src/router/router.ts';
import { codeOf } from '../caps/fixtures.ts';

export interface BackingUnderTest {
  readonly router: Router;
  readonly backing: Backing;
  /** A handle the holder has; its caveats include an `actions` mask and an `exp`. */
  readonly handle: Handle;
  readonly allowed: Invocation;
  readonly denied: Invocation;
  readonly recipient: string;
  /** An action in the handle's mask other than `allowed.action`, to narrow to. */
  readonly narrowTo: string;
  /** Seconds from the backing's "now" until the handle expires. */
  readonly expiresIn: number;
  /** Moves the backing's clock forward by `seconds`. */
  advance(seconds: number): void;
}

export function routerConformance(name: string, setup: () => Promise<BackingUnderTest>): void {
  describe(`Router conformance: ${name}`, () => {
    it('resolves the handle to its target', async () => {
      const t = await setup();
      const r = await t.router.resolve(t.handle);
      expect(r.kind).toBe(t.handle.target.kind);
      expect(r.id).toBe(t.handle.target.id);
    });

    it('invokes what the mask allows and refuses the rest at the router and at the backing', async () => {
      const t = await setup();
      await t.router.invoke(t.handle, t.allowed);
      expect(await codeOf(t.router.invoke(t.handle, t.denied))).toBe('E_DENIED');
      expect(await codeOf(t.backing.invoke(t.handle, t.denied))).toBe('E_DENIED');
    });

    it('grants a narrowed handle that narrows its parent', async () => {
      const t = await setup();
      const child = await t.router.attenuateAndGrant(
        t.handle,
        [{ t: 'actions', actions: [t.narrowTo] }],
        t.recipient,
      );
      expect(narrows(handleRights(child), handleRights(t.handle))).toBe(true);
      expect(child.caveats.slice(0, t.handle.caveats.length)).toEqual(t.handle.caveats);
    });

    const widenings: [string, (h: Handle) => Caveat[]][] = [
      ['more actions', () => [{ t: 'actions', actions: ['bridge-mint', 'set-field', 'transfer'] }]],
      [
        'a later expiry',
        (h) => {
          const exp = handleRights(h).expiry ?? 0;
          return [{ t: 'exp', at: exp + 3600 }];
        },
      ],
    ];
    for (const [what, caveats] of widenings) {
      it(`refuses a grant with ${what}: E_WIDENING at the router and at the backing`, async () => {
        const t = await setup();
        expect(await codeOf(t.router.attenuateAndGrant(t.handle, caveats(t.handle), t.recipient))).toBe(
          'E_WIDENING',
        );
        const wider: Handle = {
          target: t.handle.target,
          caveats: [
            ...t.handle.caveats.filter((c) => c.t !== 'actions' && c.t !== 'exp'),
            ...caveats(t.handle),
          ],
        };
        expect(await codeOf(t.backing.grant(t.handle, wider, t.recipient))).toBe('E_WIDENING');
      });
    }

    it('refuses a derived handle for another target', async () => {
      const t = await setup();
      const id = t.handle.target.id;
      const otherId = `${id.slice(0, -1)}${id.endsWith('0') ? '1' : '0'}`;
      const other: Handle = {
        target: { kind: t.handle.target.kind, id: otherId },
        caveats: t.handle.caveats,
      };
      expect(await codeOf(t.backing.grant(t.handle, other, t.recipient))).toBe('E_WIDENING');
    });

    it('refuses an expired handle', async () => {
      const t = await setup();
      t.advance(t.expiresIn + 1);
      expect(await codeOf(t.router.invoke(t.handle, t.allowed))).toBe('E_EXPIRED');
    });

    it('revokes: the handle no longer works', async () => {
      const t = await setup();
      await t.router.revoke(t.handle);
      expect(['E_NOT_FOUND', 'E_REVOKED']).toContain(await codeOf(t.router.invoke(t.handle, t.allowed)));
    });

    it('refuses a target kind nobody registered', async () => {
      const t = await setup();
      const kinds = ['cell', 'sealer', 'unsealer', 'remote', 'firmament'] as const;
      const missing = kinds.find((k) => !t.router.kinds().includes(k))!;
      expect(await codeOf(t.router.resolve({ target: { kind: missing, id: 'x' }, caveats: [] }))).toBe(
        'E_NOT_FOUND',
      );
    });
  });
}
