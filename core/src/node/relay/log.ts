/**
 * Structured logs: one JSON object per line on stderr, `{"t": ISO time, "level", "msg", ...fields}`.
 * stdout stays free for the one machine-readable line a command prints (the relay's ready line).
 * Fields are chosen by the caller; nothing secret is ever passed here.
 */
export type Level = 'debug' | 'info' | 'warn' | 'error';

export type Log = (level: Level, msg: string, fields?: Record<string, unknown>) => void;

const RANK: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export function jsonLog(
  write: (line: string) => void = (l) => process.stderr.write(l),
  minimum: Level = 'info',
): Log {
  return (level, msg, fields) => {
    if (RANK[level] < RANK[minimum]) return;
    write(
      `${JSON.stringify({ t: new Date().toISOString(), level, msg, ...fields }, (_k, v) =>
        typeof v === 'bigint' ? v.toString() : v,
      )}\n`,
    );
  };
}
