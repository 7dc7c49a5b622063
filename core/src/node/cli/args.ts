/** Parsers for CLI argument values. Each fails only with `E_ARGUMENT` and says what it expected. */
import type { Attenuation } from '../../agent/delegate.ts';
import { DreggError } from '../../errors.ts';
import { MAX_AMOUNT } from '../../turns/effects.ts';

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** `90s`, `30m`, `24h`, `7d`, `2w`, or plain seconds. */
export function parseDuration(text: string, what = '--ttl'): number {
  const m = /^(\d{1,9})([smhdw]?)$/.exec(text.trim());
  if (m === null)
    throw new DreggError('E_ARGUMENT', `${what} takes a duration like 90s, 30m, 24h or 7d (got "${text}")`);
  const seconds = Number(m[1]) * UNITS[m[2] || 's']!;
  if (seconds <= 0) throw new DreggError('E_ARGUMENT', `${what} must be longer than zero`);
  return seconds;
}

export function parseCount(text: string, what: string): number {
  if (!/^\d{1,15}$/.test(text.trim()))
    throw new DreggError('E_ARGUMENT', `${what} takes a whole number (got "${text}")`);
  return Number(text.trim());
}

/** A whole number of computrons, 0 to 2^64 - 1, as a bigint. */
export function parseAmount(text: string, what: string): bigint {
  const t = text.trim();
  if (!/^\d{1,20}$/.test(t) || BigInt(t) > MAX_AMOUNT)
    throw new DreggError(
      'E_ARGUMENT',
      `${what} takes a whole number of computrons below 2^64 (got "${text}")`,
    );
  return BigInt(t);
}

/** Comma- or plus-separated names: `read,write`. */
export function parseNames(text: string): string[] {
  return text
    .split(/[,+]/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * `--restrict service=storage,action=read,action=list,budget=1000`. `service` and `action` may repeat
 * (the delegation then allows any of the named ones); `actions=read+list` is the same as repeating.
 */
export function parseRestrict(text: string): Attenuation {
  const services: string[] = [];
  const actions: string[] = [];
  let maxBudget: number | undefined;
  for (const part of text.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0) throw new DreggError('E_ARGUMENT', `--restrict items are key=value (got "${item}")`);
    const key = item.slice(0, eq).trim();
    const value = item.slice(eq + 1).trim();
    switch (key) {
      case 'service':
      case 'services':
        services.push(...parseNames(value));
        break;
      case 'action':
      case 'actions':
        actions.push(...parseNames(value));
        break;
      case 'budget':
        if (maxBudget !== undefined) throw new DreggError('E_ARGUMENT', '--restrict names budget twice');
        maxBudget = parseCount(value, 'budget');
        break;
      default:
        throw new DreggError('E_ARGUMENT', `--restrict knows service, action and budget (got "${key}")`);
    }
  }
  return {
    ...(services.length > 0 ? { services } : {}),
    ...(actions.length > 0 ? { actions } : {}),
    ...(maxBudget !== undefined ? { maxBudget } : {}),
  };
}
