/** The extension pages' calls to the background, and a way to show what failed. */
import { isDreggError } from '@cipherclerk/core';
import { ask } from '../protocol.ts';

export const ui = <T>(method: string, params?: unknown): Promise<T> =>
  ask({ kind: 'ui', method, params }) as Promise<T>;

export interface Problem {
  readonly code: string;
  readonly message: string;
}

export function problemOf(e: unknown): Problem {
  if (isDreggError(e)) return { code: e.code, message: e.message };
  return { code: 'E_INTERNAL', message: String(e) };
}
