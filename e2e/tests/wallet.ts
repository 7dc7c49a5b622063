/**
 * The dashboard as a person uses it, shared by the specs that drive whole wallets (trade, trade-items):
 * a person restored from fresh words, online at the relay, with one cell funded by its opening grant.
 */
import { type Browser, expect, type Page } from '@playwright/test';
import { newMnemonic } from '../../core/src/keys/mnemonic.ts';

const PASS = 'a long unlock passphrase';

/** A person with a restored identity, online at `relay`, holding one cell of 1000 computrons. */
export async function person(browser: Browser, dashboard: string, relay: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${dashboard}?relay=${encodeURIComponent(relay)}#/identity`);
  await page.getByRole('tab', { name: 'Restore from words' }).click();
  await page.getByLabel('Your recovery words').fill(newMnemonic());
  await page.getByLabel(/^Unlock passphrase/).fill(PASS);
  await page.getByLabel('The same passphrase again').fill(PASS);
  await page.getByRole('button', { name: 'Restore' }).click();
  await expect(page.getByRole('navigation', { name: 'Screens' })).toBeVisible({ timeout: 30_000 });
  await expect(page.getByText('relay online')).toBeVisible({ timeout: 30_000 });
  await screen(page, 'Cells');
  await page.getByRole('button', { name: 'Open a new cell' }).click();
  await expect(page.getByTestId('balance')).toHaveText(['1000 computrons'], { timeout: 30_000 });
  return page;
}

/** Opens one of the dashboard's screens from its navigation. */
export async function screen(page: Page, name: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Screens' }).getByRole('link', { name }).click();
}
