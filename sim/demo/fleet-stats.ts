/**
 * What the demo's subscriber learns from the fleet's traffic: per-node message counts, rates,
 * sequence gaps (lost messages), duplicates, reconnects (each `online` after the first) and wills
 * fired (`offline` published by the broker for a node).
 */

export interface NodeStats {
  id: string;
  online: boolean;
  messages: number;
  duplicates: number;
  /** Sequence numbers not seen yet below the highest seen. */
  missing: Set<number>;
  nextSeq: number;
  onlineCount: number;
  willsFired: number;
  lastTempC: number | null;
  /** Receive times (ms) of recent messages, for the rate. */
  recent: number[];
}

export interface Telemetry {
  seq: number;
  tempC?: number;
}

export class FleetStats {
  readonly nodes = new Map<string, NodeStats>();
  totalMessages = 0;
  startedMs: number;

  constructor(private readonly now: () => number) {
    this.startedMs = now();
  }

  private node(id: string): NodeStats {
    let n = this.nodes.get(id);
    if (!n) {
      n = {
        id,
        online: false,
        messages: 0,
        duplicates: 0,
        missing: new Set(),
        // The example numbers its readings from 1.
        nextSeq: 1,
        onlineCount: 0,
        willsFired: 0,
        lastTempC: null,
        recent: [],
      };
      this.nodes.set(id, n);
    }
    return n;
  }

  /**
   * A status message: `online` (announced on each connection) or `offline` (the will). A will
   * counts when it takes a node that was online offline: a broker restart can deliver a will
   * again from its store, and that is not a second departure.
   */
  status(id: string, text: string, retained: boolean): void {
    const n = this.node(id);
    if (retained) {
      // The broker's stored status, sent because the dashboard (re)subscribed: a state, not an event.
      n.online = text === "online";
      return;
    }
    if (text === "online") {
      n.online = true;
    } else if (text === "offline" && n.online) {
      n.online = false;
      n.willsFired++;
    }
  }

  /** The node itself reports a new connection (its example logs each one). */
  connected(id: string): void {
    this.node(id).onlineCount++;
  }

  telemetry(id: string, t: Telemetry): void {
    const n = this.node(id);
    const seq = t.seq;
    if (seq >= n.nextSeq) {
      for (let s = n.nextSeq; s < seq; s++) n.missing.add(s);
      n.nextSeq = seq + 1;
    } else if (n.missing.has(seq)) {
      n.missing.delete(seq); // late, after a reconnect: not lost after all
    } else {
      n.duplicates++; // QoS 1 may deliver twice: counted, not an error
      return;
    }
    n.messages++;
    this.totalMessages++;
    // A reading is proof of life, whatever status message came last.
    n.online = true;
    if (typeof t.tempC === "number") n.lastTempC = t.tempC;
    const now = this.now();
    n.recent.push(now);
    while (n.recent.length > 0 && now - n.recent[0] > 10000) n.recent.shift();
  }

  /** Messages per second over the last `windowMs`. */
  rate(n: NodeStats, windowMs = 10000): number {
    const now = this.now();
    let count = 0;
    for (const t of n.recent) if (now - t <= windowMs) count++;
    const span = Math.min(windowMs, now - this.startedMs);
    return span > 0 ? (count * 1000) / span : 0;
  }

  totals() {
    let online = 0, lost = 0, duplicates = 0, reconnects = 0, wills = 0, rate = 0;
    for (const n of this.nodes.values()) {
      if (n.online) online++;
      lost += n.missing.size;
      duplicates += n.duplicates;
      reconnects += Math.max(0, n.onlineCount - 1);
      wills += n.willsFired;
      rate += this.rate(n);
    }
    return { nodes: this.nodes.size, online, messages: this.totalMessages, lost, duplicates, reconnects, wills, rate };
  }
}
