/**
 * The relay's Prometheus metrics (`/metrics`, text format via prom-client). One registry per relay, so
 * several relays in one process (the tests) keep separate counts. Counters are fed by the RPC and
 * gossip observers; gauges are read from the notary and the inboxes when Prometheus scrapes.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface RelayMetrics {
  readonly registry: Registry;
  /** One served request: its operation, `ok` or the error code, and how long it took. */
  served(op: string, outcome: string, ms: number): void;
  /** Something refused before a handler saw it (oversized, malformed, rate limited...). */
  dropped(where: string, reason: string): void;
  /** One turn proof checked before ordering: 'verified' or the refusal's code, and how long it took. */
  proof(outcome: string, ms: number): void;
}

/** Values read at scrape time. */
export interface Readings {
  height(): number;
  peers(): number;
  supply(): Promise<{
    issued: bigint;
    destroyed: bigint;
    transit: bigint;
    circulating: bigint;
    delta: bigint;
  }>;
  inbox(): Promise<{ count: number; bytes: number }>;
}

export function relayMetrics(read: Readings): RelayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'cipherclerk_rpc_requests_total',
    help: 'Requests served, by operation and outcome (ok or an error code)',
    labelNames: ['op', 'outcome'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'cipherclerk_rpc_duration_seconds',
    help: 'Time to serve a request, by operation',
    labelNames: ['op'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  const dropped = new Counter({
    name: 'cipherclerk_dropped_total',
    help: 'Input dropped before it reached a handler, by where it arrived and why',
    labelNames: ['where', 'reason'],
    registers: [registry],
  });
  new Gauge({
    name: 'cipherclerk_log_height',
    help: 'Events in the notary log',
    registers: [registry],
    collect() {
      this.set(read.height());
    },
  });
  new Gauge({
    name: 'cipherclerk_peers',
    help: 'Connected libp2p peers',
    registers: [registry],
    collect() {
      this.set(read.peers());
    },
  });
  const supply = new Gauge({
    name: 'cipherclerk_supply',
    help: 'Supply audit over the log (computrons): issued, destroyed, transit, circulating, and delta = issued - destroyed - transit - circulating, which must be 0',
    labelNames: ['part'],
    registers: [registry],
    async collect() {
      const s = await read.supply();
      for (const part of ['issued', 'destroyed', 'transit', 'circulating', 'delta'] as const)
        supply.set({ part }, Number(s[part]));
    },
  });
  const inbox = new Gauge({
    name: 'cipherclerk_inbox',
    help: 'Messages and bytes held in inboxes',
    labelNames: ['what'],
    registers: [registry],
    async collect() {
      const t = await read.inbox();
      inbox.set({ what: 'messages' }, t.count);
      inbox.set({ what: 'bytes' }, t.bytes);
    },
  });
  const proofs = new Counter({
    name: 'cipherclerk_turn_proofs_total',
    help: 'Proved-turn submissions checked before ordering, by outcome (verified or the refusal code)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const proofTime = new Histogram({
    name: 'cipherclerk_turn_proof_verify_seconds',
    help: 'Time to check a proved-turn submission (signature and STARK proof)',
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  return {
    registry,
    proof(outcome, ms) {
      proofs.inc({ outcome });
      proofTime.observe(ms / 1000);
    },
    served(op, outcome, ms) {
      requests.inc({ op, outcome });
      duration.observe({ op }, ms / 1000);
    },
    dropped(where, reason) {
      dropped.inc({ where, reason });
    },
  };
}
