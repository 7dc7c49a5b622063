/** Test helpers: the error code a call fails with ('FOREIGN' for anything that is not a DreggError). */
import { isDreggError } from '../../src/errors.ts';

export type Outcome = string | 'FOREIGN' | 'OK';

export function outcome(f: () => unknown): Outcome {
  try {
    f();
    return 'OK';
  } catch (e) {
    return isDreggError(e) ? e.code : 'FOREIGN';
  }
}

export async function outcomeAsync(f: () => Promise<unknown>): Promise<Outcome> {
  try {
    await f();
    return 'OK';
  } catch (e) {
    return isDreggError(e) ? e.code : 'FOREIGN';
  }
}
