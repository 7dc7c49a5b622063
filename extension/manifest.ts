/**
 * The two manifests, from one description. Chromium: a module service worker and the offscreen
 * document for the light node's worker. Firefox: a background page (event page) that starts the
 * worker itself, and the gecko id AMO needs. Both inject the provider in the page's world.
 */
export type Target = 'chromium' | 'firefox';

export const PAGES = {
  popup: 'popup/popup.html',
  approval: 'approval/approval.html',
  offscreen: 'offscreen/offscreen.html',
} as const;

const SITES = ['http://*/*', 'https://*/*'];

export function manifest(target: Target, version: string): Record<string, unknown> {
  const common = {
    manifest_version: 3,
    name: 'cipherclerk',
    version,
    description: 'Capability wallet and light node: sites ask, you approve narrow, expiring delegations.',
    action: { default_popup: PAGES.popup, default_title: 'cipherclerk' },
    content_scripts: [
      { matches: SITES, js: ['content.js'], run_at: 'document_start' },
      { matches: SITES, js: ['provider.js'], run_at: 'document_start', world: 'MAIN' },
    ],
    // The prover's WebAssembly needs 'wasm-unsafe-eval'; nothing else is loosened.
    content_security_policy: { extension_pages: "script-src 'self' 'wasm-unsafe-eval'; object-src 'self'" },
  };
  if (target === 'chromium')
    return {
      ...common,
      // runtime.getContexts (to find the offscreen document) arrived in Chromium 116.
      minimum_chrome_version: '116',
      background: { service_worker: 'background.js', type: 'module' },
      permissions: ['storage', 'offscreen'],
    };
  return {
    ...common,
    background: { scripts: ['background.js'], type: 'module' },
    permissions: ['storage'],
    browser_specific_settings: {
      // MAIN-world content scripts arrived in Firefox 128.
      gecko: {
        id: 'extension@cipherclerk.dev',
        strict_min_version: '128.0',
        data_collection_permissions: { required: ['none'] },
      },
    },
  };
}
