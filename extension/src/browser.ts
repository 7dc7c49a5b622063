/**
 * The few WebExtension APIs the extension uses, typed here (the project has no @types/chrome). Both
 * Chromium and Firefox (128+) expose them on `chrome` with promises in MV3; `offscreen` is Chromium's
 * alone, which is how the background tells which way to host the light node.
 */

export interface Sender {
  readonly id?: string;
  readonly url?: string;
  /** Chromium only: the origin of the page or frame that sent the message. */
  readonly origin?: string;
  readonly tab?: { readonly id?: number; readonly windowId?: number };
  readonly frameId?: number;
  /** Chromium only. */
  readonly documentId?: string;
}

type Listener = (message: unknown, sender: Sender, respond: (answer: unknown) => void) => boolean | undefined;

interface StorageArea {
  get(keys: string | string[] | null): Promise<Record<string, unknown>>;
  set(items: Record<string, unknown>): Promise<void>;
  remove(keys: string | string[]): Promise<void>;
}

export interface Browser {
  readonly runtime: {
    readonly id: string;
    getURL(path: string): string;
    sendMessage(message: unknown): Promise<unknown>;
    readonly onMessage: { addListener(l: Listener): void };
    getContexts?(filter: { contextTypes: string[] }): Promise<unknown[]>;
  };
  readonly storage: { readonly local: StorageArea };
  readonly tabs: {
    sendMessage(tabId: number, message: unknown, options?: { documentId?: string }): Promise<unknown>;
    create(p: { url: string }): Promise<unknown>;
  };
  readonly windows: {
    create(p: { url: string; type: 'popup'; width: number; height: number }): Promise<{ id?: number }>;
    remove(windowId: number): Promise<void>;
    readonly onRemoved: { addListener(l: (windowId: number) => void): void };
  };
  readonly offscreen?: {
    createDocument(p: { url: string; reasons: string[]; justification: string }): Promise<void>;
  };
}

export const browser: Browser = (globalThis as unknown as { chrome: Browser }).chrome;
