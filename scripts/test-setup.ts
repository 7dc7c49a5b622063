/**
 * Runs before every test file. fast-check shrinks a failing example synchronously; on long inputs
 * that can take hours (it once hid a real failure behind a hung CI run), so every property stops
 * after a minute and an interrupted run counts as failed, with the example found so far.
 */
import fc from 'fast-check';

fc.configureGlobal({ interruptAfterTimeLimit: 60_000, markInterruptAsFailure: true });
