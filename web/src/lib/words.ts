/** Plain-language pieces shared by the screens: times, short DIDs, lists typed by people. */

export function shortDid(did: string): string {
  return did.length > 24 ? `${did.slice(0, 14)}…${did.slice(-6)}` : did;
}

/** "3 h 20 min", "45 s", "expired 2 min ago". */
export function countdown(expiry: number, nowSeconds: number): string {
  const left = expiry - nowSeconds;
  const span = duration(Math.abs(left));
  return left > 0 ? `${span} left` : `expired ${span} ago`;
}

export function duration(seconds: number): string {
  const s = Math.floor(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
}

export function when(seconds: number): string {
  return new Date(seconds * 1000).toLocaleString();
}

/** "read, write" or "read write" -> ["read", "write"]; empty means "no restriction". */
export function list(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((w) => w.trim())
    .filter((w) => w.length > 0);
}
