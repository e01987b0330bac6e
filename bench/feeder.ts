/**
 * A publisher in a process of its own, so the receive-side garbage measured in the benchmark
 * process is the subscriber's alone. Started with `fork`; each IPC message
 * `{ host, port, topic, qos, count, ratePerSec, payloadBytes }` publishes `count` messages at a
 * fixed rate over a raw socket (pre-encoded packets, every 1 ms the ones that are due) and
 * answers `{ done: count }` (or `{ error }`).
 */
import { performance } from "node:perf_hooks";
import { FrameReader, PUBACK, PUBCOMP, PUBREC, PUBREL, publishPacket, putAck, RawLink } from "./raw.ts";

export interface FeedOrder {
  host: string;
  port: number;
  topic: string;
  qos: number;
  count: number;
  ratePerSec: number;
  payloadBytes: number;
}

async function feed(order: FeedOrder): Promise<number> {
  const link = await RawLink.open(order.host, order.port, "bench-feeder-" + process.pid + "-" + Date.now());
  const socket = link.socket;
  const payload = Buffer.alloc(order.payloadBytes, 7);
  const template = publishPacket(order.topic, payload, order.qos, 1);
  const idOff = template.length - payload.length - 2;
  let acked = 0;
  const reader = new FrameReader(false, (first, prefix) => {
    const type = first >> 4;
    if (type === PUBREC) {
      const b = Buffer.alloc(4);
      putAck(b, 0, PUBREL, (prefix[0] << 8) | prefix[1]);
      socket.write(b);
    } else if (type === PUBACK || type === PUBCOMP) acked++;
  });
  link.onBytes = (buf, n) => reader.push(buf, n);
  let sent = 0;
  let id = 1;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(order.count, Math.floor(((performance.now() - start) * order.ratePerSec) / 1000) + 1);
      const n = due - sent;
      if (n > 0) {
        const out = Buffer.allocUnsafe(n * template.length);
        for (let i = 0; i < n; i++) {
          const off = i * template.length;
          template.copy(out, off);
          if (order.qos > 0) {
            out[off + idOff] = id >> 8;
            out[off + idOff + 1] = id & 255;
            id = id === 65535 ? 1 : id + 1;
          }
        }
        socket.write(out);
        sent = due;
      }
      if (sent < order.count) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  if (order.qos > 0) {
    const t0 = Date.now();
    while (acked < order.count && Date.now() - t0 < 30000) await new Promise((r) => setTimeout(r, 5));
  }
  await link.close();
  return sent;
}

process.on("message", (order: FeedOrder) => {
  feed(order).then(
    (n) => process.send!({ done: n }),
    (err: Error) => process.send!({ error: err.message }),
  );
});
