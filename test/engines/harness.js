// Runs inside a small engine (duktape: ES5.1; QuickJS) with a built bundle loaded as the global
// `MQ`: the core (its createClient over this file's board), or a board bundle (its own connect()
// over the runtime faked by board-fakes.js, with QOS0_ONLY for its QoS 0 build).
// No timers, sockets or Node APIs exist there: this script supplies a manual clock,
// fake timers, an in-engine transport and a scripted broker built on the bundle's own codec.
// It ends by calling the host's `report(json)` with what it observed; the host asserts.
var out = { steps: [], errors: [] };
function step(name, ok, detail) {
  out.steps.push({ name: name, ok: !!ok, detail: detail === undefined ? null : detail });
}

// ---- manual clock and timers ----------------------------------------------------------------
var nowMs = 0;
var clock = { now: function () { return nowMs; } };
var timerList = [];
var timerSeq = 0;
var timers = {
  set: function (fn, ms) {
    timerSeq++;
    timerList.push({ id: timerSeq, at: nowMs + ms, fn: fn });
    return timerSeq;
  },
  clear: function (id) {
    for (var i = 0; i < timerList.length; i++) if (timerList[i].id === id) { timerList.splice(i, 1); return; }
  }
};
// Runs queued engine "tasks" (deliveries) and due timers until nothing is left up to `untilMs`.
var tasks = [];
function runTasks() {
  var guard = 0;
  while (tasks.length > 0) {
    if (++guard > 1000000) throw new Error("task loop");
    var t = tasks.shift();
    t();
  }
}
function advance(ms) {
  var until = nowMs + ms;
  runTasks();
  for (;;) {
    var next = null;
    for (var i = 0; i < timerList.length; i++) if (timerList[i].at <= until && (next === null || timerList[i].at < next.at)) next = timerList[i];
    if (next === null) break;
    timerList.splice(timerList.indexOf(next), 1);
    if (next.at > nowMs) nowMs = next.at;
    next.fn();
    runTasks();
  }
  nowMs = until;
}

function bytesEqual(a, b) {
  if (a.length !== b.length) return false;
  for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
function copy(u8, off, len) {
  var c = new Uint8Array(len);
  for (var i = 0; i < len; i++) c[i] = u8[off + i];
  return c;
}

// ---- scripted broker on the bundle's codec ------------------------------------------------
var broker = {
  link: null,            // the transport currently connected
  connects: [],
  subscriptions: [],     // {filter, qos}
  pingreqs: 0,
  retained: null,
  incomingQos2: {},
  sink: {
    onPacket: function (buf, d) { broker.onPacket(CODEC.readPacket(buf, d)); },
    onPacketError: function (status) { out.errors.push("broker got bad packet: " + status); }
  },
  send: function (packet) {
    var buf = new Uint8Array(CODEC.packetSize(packet));
    var end = CODEC.encodePacket(buf, 0, packet);
    if (end < 0) { out.errors.push("broker encode " + end); return; }
    var link = broker.link;
    // Deliver in two pieces to exercise reassembly.
    var cut = end > 3 ? Math.floor(end / 2) : end;
    tasks.push(function () { if (broker.link === link) link.events.onData(buf, 0, cut); });
    if (cut < end) tasks.push(function () { if (broker.link === link) link.events.onData(buf, cut, end - cut); });
  },
  onPacket: function (p) {
    switch (p.type) {
      case 1:
        broker.connects.push(p);
        // A clean session starts with no subscriptions.
        if (p.clean) broker.subscriptions = [];
        broker.send({ type: 2, sessionPresent: false, returnCode: 0 }); break;
      case 3:
        if (p.qos === 1) broker.send({ type: 4, packetId: p.packetId });
        if (p.qos === 2) broker.send({ type: 5, packetId: p.packetId });
        broker.route(p);
        break;
      case 6: broker.send({ type: 7, packetId: p.packetId }); break;
      case 4: case 7: break;
      case 5: broker.send({ type: 6, packetId: p.packetId }); break;
      case 8:
        var granted = [];
        for (var i = 0; i < p.subscriptions.length; i++) {
          broker.subscriptions.push({ filter: p.subscriptions[i].topic, qos: p.subscriptions[i].qos });
          granted.push(p.subscriptions[i].qos);
        }
        broker.send({ type: 9, packetId: p.packetId, granted: granted });
        break;
      case 12: broker.pingreqs++; broker.send({ type: 13 }); break;
      case 14: break;
      default: out.errors.push("broker: unexpected packet type " + p.type);
    }
  },
  nextId: 100,
  route: function (p) {
    for (var i = 0; i < broker.subscriptions.length; i++) {
      var s = broker.subscriptions[i];
      if (!CODEC.topicMatches(s.filter, p.topic)) continue;
      var qos = p.qos < s.qos ? p.qos : s.qos;
      broker.send({ type: 3, topic: p.topic, payload: p.payload, qos: qos, retain: false, dup: false, packetId: qos > 0 ? broker.nextId++ : 0 });
    }
  },
  drop: function () {
    var link = broker.link;
    broker.link = null;
    if (link) tasks.push(function () { link.events.onClose("link dropped"); });
  }
};

// ---- in-engine transport --------------------------------------------------------------------
var transport = {
  events: null,
  receiver: null,
  opens: 0,
  open: function (host, port, events) {
    transport.opens++;
    transport.events = events;
    transport.receiver = new CODEC.Receiver(70000, broker.sink, CODEC.decodePacket);
    broker.link = transport;
    tasks.push(function () { if (broker.link === transport) events.onOpen(); });
  },
  write: function (bytes, off, len) {
    if (broker.link !== transport) return true;
    var c = copy(bytes, off, len); // "takes the bytes before returning"
    tasks.push(function () { if (broker.link === transport) transport.receiver.push(c, 0, c.length); });
    return true;
  },
  close: function () {
    var events = transport.events;
    if (broker.link === transport) broker.link = null;
    tasks.push(function () { events.onClose(null); });
  }
};

// ---- the scenario -----------------------------------------------------------------------------
var received = [];
var published = [];
var connects = 0;
// With a board's runtime faked (board-fakes.js, loaded before this file), the board bundle's own
// connect() runs over the fake runtime sockets; otherwise the core gets the in-engine transport.
var boardMode = typeof makeBoardClient === "function";
var SETTLE_MS = boardMode ? 3000 : 50;
function linkOpens() { return boardMode ? boardOpens() : transport.opens; }
// The board client takes packets of up to maxPacketBytes (2 KB by default on Espruino).
var clientOptions = boardMode ? {
  clientId: "engine-1",
  keepalive: 10,
  username: "maker",
  password: "secret",
  will: { topic: "nodes/engine-1/status", payload: "offline", qos: QOS0_ONLY ? 0 : 1, retain: true },
  reconnect: { minMs: 500, maxMs: 2000 },
  maxPacketBytes: 20000,
  outboxBytes: 50000
} : {
  clientId: "engine-1",
  keepalive: 10,
  username: "maker",
  password: "secret",
  will: { topic: "nodes/engine-1/status", payload: "offline", qos: 1, retain: true },
  reconnect: { minMs: 500, maxMs: 2000 },
  rxBytes: 20000,
  txBytes: 20000,
  outboxBytes: 50000
};
var board = { clock: clock, timers: timers, transport: transport, random: function () { return 0.5; } };
var client = boardMode ? makeBoardClient(clientOptions) : MQ.createClient(clientOptions, board);

client.on("connect", function () { connects++; });
var clientErrors = [];
var clientCodes = [];
client.on("error", function (e) { clientErrors.push(e.message); clientCodes.push(e.code); });
// The payload: a Uint8Array, or on Espruino a String of bytes (one char per byte). The third
// argument has the QoS (the core's packet, the board client's info).
function bytesOf(payload) {
  if (typeof payload !== "string") return copy(payload, 0, payload.length);
  var u = new Uint8Array(payload.length);
  for (var i = 0; i < payload.length; i++) u[i] = payload.charCodeAt(i);
  return u;
}
client.on("message", function (topic, payload, packet) {
  received.push({ topic: topic, payload: bytesOf(payload), qos: packet.qos });
});

advance(10);
step("connected", connects === 1 && client.connected === true);
var c0 = broker.connects[0];
step("connect carries will and credentials",
  c0 && c0.username === "maker" && c0.password && String.fromCharCode.apply(null, c0.password) === "secret" &&
  c0.will && c0.will.topic === "nodes/engine-1/status" && c0.will.qos === (QOS0_ONLY ? 0 : 1) && c0.will.retain === true &&
  String.fromCharCode.apply(null, c0.will.payload) === "offline" && c0.keepalive === 10);

var granted = null;
if (QOS0_ONLY) client.subscribe("t/#", function (err) { granted = err ? "error " + err.message : [{ qos: broker.subscriptions[0].qos }]; });
else client.subscribe("t/#", { qos: 2 }, function (err, g) { granted = err ? "error " + err.message : g; });
advance(10);
step("subscribed", granted && granted.length === 1 && granted[0].qos === (QOS0_ONLY ? 0 : 2), granted);

var all = new Uint8Array(256);
for (var b = 0; b < 256; b++) all[b] = b;
var big = new Uint8Array(16384);
for (var k = 0; k < big.length; k++) big[k] = (k * 31 + 7) & 255;
var acks = 0;
function acked(err) { if (err) out.errors.push("publish: " + err.message); else acks++; }
function find(topic) { for (var i = 0; i < received.length; i++) if (received[i].topic === topic) return received[i]; return null; }
if (QOS0_ONLY) {
  client.publish("t/q0", "zero", acked);
  client.publish("t/bytes", all, acked);
  client.publish("t/big", big, acked);
  step("a QoS 1 publish is refused by this build", (function () { try { client.publish("t/q1", "x", { qos: 1 }); return false; } catch (e) { return /qos/.test(e.message); } })());
  advance(SETTLE_MS);
  step("publishes written", acks === 3, acks);
  var z0 = find("t/q0"), zb = find("t/bytes"), zg = find("t/big");
  step("qos 0 round trip", z0 && z0.qos === 0 && String.fromCharCode.apply(null, z0.payload) === "zero");
  step("every byte value survives", zb && bytesEqual(zb.payload, all));
  step("16 KB payload survives", zg && bytesEqual(zg.payload, big), zg ? zg.payload.length : null);
  step("each message delivered once", received.length === 3, received.length);
} else {
  client.publish("t/q1", "hello at one", { qos: 1 }, acked);
  client.publish("t/q2", "hello at two", { qos: 2 }, acked);
  client.publish("t/bytes", all, { qos: 1 }, acked);
  client.publish("t/big", big, { qos: 2 }, acked);
  client.publish("t/q0", "zero", { qos: 0 }, acked);
  advance(SETTLE_MS);
  step("publishes acknowledged", acks === 5, acks);
  var r1 = find("t/q1"), r2 = find("t/q2"), rb = find("t/bytes"), rg = find("t/big"), r0 = find("t/q0");
  step("qos 1 round trip", r1 && r1.qos === 1 && String.fromCharCode.apply(null, r1.payload) === "hello at one");
  step("qos 2 round trip", r2 && r2.qos === 2 && String.fromCharCode.apply(null, r2.payload) === "hello at two");
  step("every byte value survives", rb && bytesEqual(rb.payload, all));
  step("16 KB payload survives", rg && bytesEqual(rg.payload, big), rg ? rg.payload.length : null);
  step("qos 0 round trip", r0 && r0.qos === 0);
  step("each message delivered once", received.length === 5, received.length);
}

var pingsBefore = broker.pingreqs;
advance(10500);
step("keepalive ping", broker.pingreqs === pingsBefore + 1 && client.connected, broker.pingreqs);

broker.drop();
advance(10);
step("offline after drop", client.connected === false);
// The core says why in words; the board client gives the code alone (-30: connection lost).
step("the drop is reported as an error",
  clientErrors.length === 1 && (boardMode ? clientCodes[0] === -30 : /^mcu-mqtt: connection lost: link dropped$/.test(clientErrors[0])), clientErrors);
clientErrors = [];
clientCodes = [];
advance(3000);
step("reconnected after drop", connects === 2 && client.connected === true && linkOpens() === 2, connects);
received = [];
if (QOS0_ONLY) client.publish("t/after", "again", acked);
else client.publish("t/after", "again", { qos: 1 }, acked);
advance(SETTLE_MS);
step("subscription restored after reconnect", received.length === 1 && received[0].topic === "t/after", received.length);

var ended = false;
client.end(function () { ended = true; });
advance(SETTLE_MS);
step("ended", ended);

for (var e = 0; e < clientErrors.length; e++) out.errors.push("client error: " + clientErrors[e]);
report(JSON.stringify(out));
