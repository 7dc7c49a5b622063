/**
 * RFC 9002 loss recovery and NewReno with a synthetic clock: RTT estimation, packet- and
 * time-threshold loss, PTO with backoff per space, the server's amplification and confirmation rules,
 * window growth and reduction, persistent congestion, and the pacer's rate.
 */
import { describe, expect, it } from 'vitest';
import { isDreggError } from '../../src/errors.ts';
import {
  INITIAL_WINDOW,
  MAX_DATAGRAM_SIZE,
  MINIMUM_WINDOW,
  NewReno,
  Pacer,
} from '../../src/node/quic/congestion.ts';
import {
  APPLICATION_SPACE,
  HANDSHAKE_SPACE,
  INITIAL_SPACE,
  Recovery,
  Rtt,
  type Space,
} from '../../src/node/quic/recovery.ts';

function send(r: Recovery<string>, space: Space, pn: number, time: number, size = 1000): void {
  r.onSent(space, { pn, time, size, ackEliciting: true, inFlight: true, data: `p${pn}` });
}

describe('RTT estimation', () => {
  it('takes the first sample whole, then smooths and subtracts ack delay above min_rtt', () => {
    const rtt = new Rtt();
    expect(rtt.smoothed).toBe(333);
    rtt.update(100, 10);
    expect([rtt.min, rtt.smoothed, rtt.variance]).toEqual([100, 100, 50]);
    rtt.update(120, 10); // adjusted 110
    expect(rtt.smoothed).toBeCloseTo(0.875 * 100 + 0.125 * 110);
    expect(rtt.variance).toBeCloseTo(0.75 * 50 + 0.25 * 10);
    rtt.update(80, 30); // below min + delay: delay not subtracted; min drops
    expect(rtt.min).toBe(80);
  });
});

describe('loss detection', () => {
  it('declares packets lost by packet threshold, then by time threshold', () => {
    const r = new Recovery<string>();
    for (let pn = 0; pn < 5; pn++) send(r, APPLICATION_SPACE, pn, pn);
    const { acked, lost } = r.onAck(APPLICATION_SPACE, [[4, 4]], 0, 100, true, false);
    expect(acked.map((p) => p.data)).toEqual(['p4']);
    expect(lost.map((p) => p.pn)).toEqual([0, 1]);
    expect(r.rtt.latest).toBe(96);
    // 2 and 3 are within the threshold: a loss timer at sent + 9/8 * rtt.
    const t = r.timer(true, false);
    expect(t).toEqual({ at: 2 + (9 / 8) * 96, space: APPLICATION_SPACE, loss: true });
    expect(r.onTimeout(100, true, false).lost).toEqual([]);
    expect(r.onTimeout(t?.at ?? 0, true, false).lost.map((p) => p.pn)).toEqual([2]);
    expect(r.cc.bytesInFlight).toBe(1000);
  });

  it('refuses an ACK for a packet never sent', () => {
    const r = new Recovery<string>();
    send(r, INITIAL_SPACE, 0, 0);
    try {
      r.onAck(INITIAL_SPACE, [[0, 1]], 0, 1, false, false);
      expect.unreachable();
    } catch (e) {
      expect(isDreggError(e, 'E_PROTOCOL')).toBe(true);
    }
  });
});

describe('probe timeout', () => {
  it('backs off exponentially per space and resets on an ack', () => {
    const r = new Recovery<string>();
    send(r, HANDSHAKE_SPACE, 0, 0);
    const first = r.timer(false, false);
    expect(first).toEqual({ at: 333 + 4 * 166.5, space: HANDSHAKE_SPACE, loss: false });
    expect(r.onTimeout(first?.at ?? 0, false, false).probe).toBe(HANDSHAKE_SPACE);
    expect(r.timer(false, false)?.at).toBe(2 * (333 + 4 * 166.5));
    r.onAck(HANDSHAKE_SPACE, [[0, 0]], 0, 50, false, false);
    expect(r.ptoCount).toBe(0);
    expect(r.timer(false, false)).toBeUndefined();
  });

  it('arms no PTO while amplification-blocked, and none for 1-RTT before confirmation', () => {
    const r = new Recovery<string>();
    send(r, INITIAL_SPACE, 0, 0);
    expect(r.timer(false, true)).toBeUndefined();
    r.discard(INITIAL_SPACE);
    expect(r.cc.bytesInFlight).toBe(0);
    send(r, APPLICATION_SPACE, 0, 10);
    expect(r.timer(false, false)).toBeUndefined();
    expect(r.timer(true, false)).toEqual({
      at: 10 + 333 + 4 * 166.5 + 25,
      space: APPLICATION_SPACE,
      loss: false,
    });
  });
});

describe('NewReno', () => {
  it('grows by acked bytes in slow start, halves once per recovery period, then grows per RTT', () => {
    const cc = new NewReno();
    expect(cc.window).toBe(INITIAL_WINDOW);
    cc.onSent(1200);
    cc.onAcked({ time: 0, size: 1200 }, false);
    expect(cc.window).toBe(INITIAL_WINDOW + 1200);
    cc.onAcked({ time: 0, size: 1200 }, true); // app-limited: no growth
    expect(cc.window).toBe(INITIAL_WINDOW + 1200);
    cc.onLost([{ time: 5, size: 1200 }], 10, false);
    const halved = (INITIAL_WINDOW + 1200) / 2;
    expect([cc.window, cc.ssthresh]).toEqual([halved, halved]);
    cc.onLost([{ time: 8, size: 1200 }], 12, false); // sent before recovery began: no second cut
    expect(cc.window).toBe(halved);
    cc.onAcked({ time: 9, size: 1200 }, false); // in recovery: no growth
    expect(cc.window).toBe(halved);
    cc.onAcked({ time: 20, size: 1200 }, false); // congestion avoidance
    expect(cc.window).toBeCloseTo(halved + (MAX_DATAGRAM_SIZE * 1200) / halved);
    cc.onLost([{ time: 30, size: 1200 }], 40, true);
    expect(cc.window).toBe(MINIMUM_WINDOW);
  });

  it('detects persistent congestion from losses spanning 3 PTOs', () => {
    const r = new Recovery<string>();
    send(r, APPLICATION_SPACE, 0, 0);
    r.onAck(APPLICATION_SPACE, [[0, 0]], 0, 10, true, false); // rtt 10, var 5, pto 30 + 25
    for (let pn = 1; pn <= 4; pn++) send(r, APPLICATION_SPACE, pn, 100 * pn);
    send(r, APPLICATION_SPACE, 5, 500);
    r.onAck(APPLICATION_SPACE, [[5, 5]], 0, 510, true, false);
    expect(r.cc.window).toBe(MINIMUM_WINDOW);
  });
});

describe('pacer', () => {
  it('lets the initial burst through, then spaces packets at 1.25 * window / srtt', () => {
    const pacer = new Pacer();
    let sent = 0;
    while (pacer.delay(0, 1200, 12000, 10) === 0) {
      pacer.onSent(1200);
      sent += 1200;
    }
    expect(sent).toBe(INITIAL_WINDOW);
    const rate = (1.25 * 12000) / 10; // bytes per ms
    expect(pacer.delay(0, 1200, 12000, 10)).toBeCloseTo(1200 / rate);
    expect(pacer.delay(1200 / rate, 1200, 12000, 10)).toBeCloseTo(0);
  });
});
