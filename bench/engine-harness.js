// Footprint of the core bundle inside a small engine (QuickJS, duktape): ES5, no Node APIs.
// Loaded after the bundle (as the global `MQ`). It brings a manual clock, fake timers, an
// in-engine transport and a scripted broker built on the bundle's own codec (the approach of
// the engine tests, written again here so the benchmark does not depend on test/).
//
// The host calls, in order:
//   setup()           the broker and its receive buffer (allocated before the baseline)
//   start()           a client with default options, connected, with two subscriptions
//   pump(n)           n messages published by the client to itself: QoS 0, 1 and 2 in turn, on
//                     topics matching the two subscriptions, each delivered before the next
//   status()          JSON: messages received, acknowledgements, errors
//   clientBytes()     duktape only: bytes of the objects reachable from the client (Duktape.info)
var H = (function () {
  var nowMs = 0;
  var clock = { now: function () { return nowMs; } };
  var timerList = [];
  var timerSeq = 0;
  var timers = {
    set: function (fn, ms) { timerSeq++; timerList.push({ id: timerSeq, at: nowMs + ms, fn: fn }); return timerSeq; },
    clear: function (id) {
      for (var i = 0; i < timerList.length; i++) if (timerList[i].id === id) { timerList.splice(i, 1); return; }
    }
  };
  var tasks = [];
  function runTasks() {
    var guard = 0;
    while (tasks.length > 0) {
      if (++guard > 10000000) throw new Error("task loop");
      var t = tasks.shift();
      t();
    }
  }
  var errors = [];
  var broker = {
    link: null,
    subs: [],
    receiver: null,
    nextId: 1,
    sink: {
      onPacket: function (buf, d) { broker.onPacket(MQ.readPacket(buf, d)); },
      onPacketError: function (status) { errors.push("broker got bad packet: " + status); }
    },
    send: function (packet) {
      var buf = new Uint8Array(MQ.packetSize(packet));
      var end = MQ.encodePacket(buf, 0, packet);
      if (end < 0) { errors.push("broker encode " + end); return; }
      var link = broker.link;
      tasks.push(function () { if (broker.link === link) link.events.onData(buf, 0, end); });
    },
    onPacket: function (p) {
      switch (p.type) {
        case 1: broker.subs = []; broker.send({ type: 2, sessionPresent: false, returnCode: 0 }); break;
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
            broker.subs.push({ filter: p.subscriptions[i].topic, qos: p.subscriptions[i].qos });
            granted.push(p.subscriptions[i].qos);
          }
          broker.send({ type: 9, packetId: p.packetId, granted: granted });
          break;
        case 12: broker.send({ type: 13 }); break;
        case 14: break;
        default: errors.push("broker: unexpected packet type " + p.type);
      }
    },
    route: function (p) {
      for (var i = 0; i < broker.subs.length; i++) {
        var s = broker.subs[i];
        if (!MQ.topicMatches(s.filter, p.topic)) continue;
        var qos = p.qos < s.qos ? p.qos : s.qos;
        var id = 0;
        if (qos > 0) { id = broker.nextId; broker.nextId = id === 65535 ? 1 : id + 1; }
        broker.send({ type: 3, topic: p.topic, payload: p.payload, qos: qos, retain: false, dup: false, packetId: id });
      }
    }
  };
  var transport = {
    events: null,
    open: function (host, port, events) {
      transport.events = events;
      broker.link = transport;
      tasks.push(function () { if (broker.link === transport) events.onOpen(); });
    },
    write: function (bytes, off, len) {
      if (broker.link !== transport) return true;
      var c = new Uint8Array(len);
      for (var i = 0; i < len; i++) c[i] = bytes[off + i];
      tasks.push(function () { if (broker.link === transport) broker.receiver.push(c, 0, len); });
      return true;
    },
    close: function () {
      var events = transport.events;
      if (broker.link === transport) broker.link = null;
      tasks.push(function () { events.onClose(null); });
    }
  };

  var client = null;
  var received = 0;
  var acks = 0;
  var connected = 0;
  var granted = 0;
  var payload = new Uint8Array(64);
  for (var k = 0; k < 64; k++) payload[k] = k;
  var TOPICS = ["bench/a/x", "bench/b/y", "bench/a/z"];
  var OPTS = [{ qos: 0 }, { qos: 1 }, { qos: 2 }];
  function onAck(err) { if (err) errors.push("publish: " + err.message); else acks++; }
  function onMessage() { received++; }
  var sent = 0;

  return {
    setup: function () {
      broker.receiver = new MQ.Receiver(4096, broker.sink, MQ.decodePacket);
    },
    start: function () {
      var board = { clock: clock, timers: timers, transport: transport, random: function () { return 0.5; } };
      client = MQ.createClient({ clientId: "footprint-1", keepalive: 60 }, board);
      client.on("connect", function () { connected++; });
      client.on("error", function (e) { errors.push("client: " + e.message); });
      client.on("message", onMessage);
      runTasks();
      client.subscribe("bench/a/#", { qos: 2 }, function (err) { if (err) errors.push(err.message); else granted++; });
      client.subscribe("bench/b/+", { qos: 1 }, function (err) { if (err) errors.push(err.message); else granted++; });
      runTasks();
      if (connected !== 1 || granted !== 2) errors.push("start: connected " + connected + ", subscriptions " + granted);
    },
    pump: function (n) {
      for (var i = 0; i < n; i++) {
        var q = sent % 3;
        client.publish(TOPICS[q], payload, OPTS[q], onAck);
        sent++;
        runTasks();
      }
    },
    status: function () {
      return JSON.stringify({ sent: sent, received: received, acks: acks, errors: errors });
    },
    // duktape: the bytes of what the client holds, walking its own properties (not its board,
    // not shared prototypes and code). Objects and strings count their header and property
    // table (Duktape.info hbytes + pbytes); typed arrays add their buffer's byteLength.
    clientBytes: function () {
      var seen = [];
      var buffers = [];
      var total = 0;
      function size(v) {
        var info = Duktape.info(v);
        return (info.hbytes || 0) + (info.pbytes || 0);
      }
      function walk(v) {
        if (v === null || v === undefined) return;
        var t = typeof v;
        if (t === "string") { total += size(v); return; }
        if (t !== "object" && t !== "function") return;
        if (seen.indexOf(v) >= 0) return;
        seen.push(v);
        total += size(v);
        if (t === "function") return;
        if (v.buffer instanceof ArrayBuffer && typeof v.byteLength === "number") {
          if (buffers.indexOf(v.buffer) < 0) { buffers.push(v.buffer); total += v.buffer.byteLength; }
          return;
        }
        var names = Object.getOwnPropertyNames(v);
        for (var i = 0; i < names.length; i++) {
          if (v === client && names[i] === "board") continue;
          if (names[i] === "clock") continue;
          walk(v[names[i]]);
        }
      }
      walk(client);
      return total;
    }
  };
})();
