import type { Agent } from '../../agent/agent.ts';
import { delegate } from '../../agent/delegate.ts';
import { type Inspection, inspect } from '../../agent/inspect.ts';
import { mintToken } from '../../agent/mint.ts';
import { receiveSignedDelegation } from '../../agent/receive.ts';
import { decodeCaveatList } from '../../agent/resolve.ts';
import { bumpEpoch, importRevocation, revoke, tripChannel } from '../../agent/revoke.ts';
import { verifyRequest } from '../../agent/verify.ts';
import { describeCaveat } from '../../caps/caveats.ts';
import { TrustedKey } from '../../caps/trust.ts';
import { ed25519FromDidKey } from '../../encoding/did-key.ts';
import { DreggError } from '../../errors.ts';
import { openAgent, saveAgent, saveState } from '../home.ts';
import { parseCount, parseDuration, parseNames, parseRestrict } from './args.ts';
import { unlockPassphrase } from './io.ts';
import { type Invocation, print, required } from './main.ts';

async function unlocked(inv: Invocation): Promise<{ agent: Agent; passphrase: string }> {
  const passphrase = await unlockPassphrase(inv.io);
  return { agent: await openAgent(inv.home, passphrase), passphrase };
}

/** The text argument of inspect/verify/accept: positional, --envelope, or standard input. */
async function textArgument(inv: Invocation, positional: string | undefined): Promise<string> {
  const text = positional ?? inv.flags.envelope ?? (await inv.io.readStdin());
  if (text.trim() === '')
    throw new DreggError('E_ARGUMENT', 'Give the token or delegation text (argument or stdin)');
  return text.trim();
}

function when(seconds: number | null): string {
  return seconds === null ? 'never' : new Date(seconds * 1000).toISOString();
}

function renderInspection(i: Inspection): string {
  const lines = [
    i.kind === 'token' ? `Root token ${i.tokenId}` : `Delegation of token ${i.tokenId}`,
    `  issued by  ${i.issuer}`,
    ...(i.holder === null ? [] : [`  held by    ${i.holder}`]),
    `  services   ${i.effective.services === 'any' ? 'any' : i.effective.services.join(', ')}`,
    `  actions    ${i.effective.actions === 'any' ? 'any' : i.effective.actions.join(', ')}`,
    `  budget     ${i.effective.budget ?? 'unlimited'}`,
    `  expires    ${when(i.effective.expiry)}`,
    '  conditions (all must hold):',
    ...i.caveats.map((c) => `    - ${c.words}`),
  ];
  i.chain.forEach((s, n) => {
    lines.push(`  step ${n + 1}: ${s.from}\n       -> ${s.to}  (delegation ${s.hash})`);
    for (const r of s.restrictions) lines.push(`       restricts: ${r.words}`);
  });
  return lines.join('\n');
}

export async function capCommand(inv: Invocation): Promise<number> {
  const [verb, ...args] = inv.positionals;
  switch (verb) {
    case 'mint': {
      const { agent, passphrase } = await unlocked(inv);
      const r = mintToken(agent, {
        service: required(inv, 'service'),
        ...(inv.flags.actions === undefined ? {} : { actions: parseNames(inv.flags.actions) }),
        ...(inv.flags.budget === undefined ? {} : { budget: parseCount(inv.flags.budget, '--budget') }),
        ...(inv.flags.ttl === undefined ? {} : { ttl: parseDuration(inv.flags.ttl) }),
        channel: inv.flags.channel !== undefined,
      });
      await saveAgent(inv.home, agent, passphrase);
      const channel = r.channel === undefined ? {} : { channel: r.channel };
      print(
        inv,
        { id: r.id, token: r.text, ...channel },
        `Minted token ${r.id}${r.channel ? ` (channel ${r.channel})` : ''}\n${r.text}`,
      );
      return 0;
    }
    case 'delegate': {
      const { agent } = await unlocked(inv);
      const restrict = (inv.flags.restrict ?? [])
        .map(parseRestrict)
        .reduce((a, b) => mergeRestrictions(a, b), {});
      const r = await delegate(agent, required(inv, 'token'), required(inv, 'to'), {
        ...restrict,
        ...(inv.flags.ttl === undefined ? {} : { maxTtl: parseDuration(inv.flags.ttl) }),
        channel: inv.flags.channel !== undefined,
      });
      saveState(inv.home, agent.state);
      const channel = r.channel === undefined ? {} : { channel: r.channel };
      print(inv, { envelope: r.text, hash: r.hash, ...channel }, `Delegation ${r.hash}\n${r.text}`);
      return 0;
    }
    case 'accept': {
      const from = required(inv, 'from');
      ed25519FromDidKey(from);
      const text = await textArgument(inv, args[0]);
      const { agent } = await unlocked(inv);
      const r = await receiveSignedDelegation(agent, text, TrustedKey(from));
      saveState(inv.home, agent.state);
      print(
        inv,
        { accepted: true, id: r.id },
        `Accepted; held as ${r.id}\n${renderInspection(inspect(text))}`,
      );
      return 0;
    }
    case 'inspect': {
      const i = inspect(await textArgument(inv, args[0]));
      print(inv, i, renderInspection(i));
      return 0;
    }
    case 'list': {
      const { agent } = await unlocked(inv);
      const s = agent.state;
      const tokens = Object.entries(s.minted).map(([id, m]) => ({
        id,
        caveats: decodeCaveatList(m.caveats).map(describeCaveat),
        createdAt: m.createdAt,
      }));
      const held = Object.entries(s.held).map(([id, h]) => ({ id, from: h.from, acceptedAt: h.acceptedAt }));
      const issued = Object.entries(s.issued).map(([hash, d]) => ({
        hash,
        token: d.token,
        to: d.to,
        issuedAt: d.issuedAt,
      }));
      const human = [
        `Minted (${tokens.length}):`,
        ...tokens.map((t) => `  ${t.id}  ${t.caveats.join('; ')}`),
        `Held (${held.length}):`,
        ...held.map((h) => `  ${h.id}  from ${h.from}`),
        `Issued (${issued.length}):`,
        ...issued.map((d) => `  ${d.hash}  token ${d.token} to ${d.to}`),
      ].join('\n');
      print(inv, { tokens, held, issued }, human);
      return 0;
    }
    case 'verify': {
      const text = await textArgument(inv, args[0]);
      const { agent } = await unlocked(inv);
      const r = await verifyRequest(agent, text, {
        service: required(inv, 'service'),
        action: required(inv, 'action'),
        ...(inv.flags.cost === undefined ? {} : { cost: parseCount(inv.flags.cost, '--cost') }),
        ...(inv.flags.holder === undefined ? {} : { holder: inv.flags.holder }),
      });
      saveState(inv.home, agent.state);
      if (r.allowed) {
        print(inv, { allowed: true, code: 'OK' }, 'allowed');
        return 0;
      }
      print(inv, { allowed: false, code: r.code, message: r.message }, `denied: ${r.message} [${r.code}]`);
      return 1;
    }
    case 'revoke': {
      const { agent } = await unlocked(inv);
      const r = await revoke(agent, {
        token: required(inv, 'token'),
        delegation: required(inv, 'delegation'),
      });
      saveState(inv.home, agent.state);
      print(
        inv,
        { revoked: true, record: r.text },
        `Revoked delegation ${r.record.kind === 'delegation' ? r.record.delegation : ''}\n${r.text}`,
      );
      return 0;
    }
    case 'trip-channel': {
      const { agent } = await unlocked(inv);
      const r = await tripChannel(agent, required(inv, 'channel'));
      saveState(inv.home, agent.state);
      print(
        inv,
        { tripped: true, record: r.text },
        `Tripped; everything enrolled in it is revoked\n${r.text}`,
      );
      return 0;
    }
    case 'epoch': {
      if (args[0] !== 'bump') throw new DreggError('E_ARGUMENT', 'Usage: dregg cap epoch bump');
      const { agent } = await unlocked(inv);
      const r = await bumpEpoch(agent);
      saveState(inv.home, agent.state);
      print(inv, { epoch: r.epoch, record: r.text }, `Delegation epoch is now ${r.epoch}\n${r.text}`);
      return 0;
    }
    case 'revocation': {
      if (args[0] !== 'import')
        throw new DreggError('E_ARGUMENT', 'Usage: dregg cap revocation import [TEXT]');
      const text = await textArgument(inv, args[1]);
      const { agent } = await unlocked(inv);
      const rec = await importRevocation(agent, text);
      saveState(inv.home, agent.state);
      print(
        inv,
        { imported: true, kind: rec.kind, by: rec.by },
        `Imported a ${rec.kind} revocation by ${rec.by}`,
      );
      return 0;
    }
    default:
      throw new DreggError(
        'E_ARGUMENT',
        'Usage: dregg cap mint|delegate|accept|inspect|list|verify|revoke|trip-channel|epoch bump',
      );
  }
}

function mergeRestrictions(a: ReturnType<typeof parseRestrict>, b: ReturnType<typeof parseRestrict>) {
  if (a.maxBudget !== undefined && b.maxBudget !== undefined)
    throw new DreggError('E_ARGUMENT', '--restrict names budget twice');
  const services = [...(a.services ?? []), ...(b.services ?? [])];
  const actions = [...(a.actions ?? []), ...(b.actions ?? [])];
  const maxBudget = a.maxBudget ?? b.maxBudget;
  return {
    ...(services.length > 0 ? { services } : {}),
    ...(actions.length > 0 ? { actions } : {}),
    ...(maxBudget === undefined ? {} : { maxBudget }),
  };
}
