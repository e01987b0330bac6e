// Loaded before harness.js in a small engine, with `BOARD` set to "espruino" or "kaluma": the
// runtime APIs that board's adapter uses, faked in the engine over the harness's scripted broker
// and manual timers, so the board bundle itself (its connect(), its transport) runs.
//   Espruino: require("net").connect(options, cb); 'data' as binary strings of at most 536 bytes;
//     write() takes strings only (anything else is sent as its toString(), like the real one);
//     'drain'; 'end' then 'close'; E.toString; getTime() in seconds; setTimeout/clearTimeout.
//   Kaluma: require("net").createConnection(options, cb) or new Socket() then connect(options, cb);
//   'data' as Uint8Array; no 'drain';
//     'close' only; millis(); setTimeout/clearTimeout; global.__netdev.errno.
var global = this;
var boardLinks = 0;
function boardOpens() { return boardLinks; }

function makeEmitter(obj) {
  obj.handlers = {};
  obj.on = function (name, fn) { (obj.handlers[name] = obj.handlers[name] || []).push(fn); return obj; };
  obj.emit = function (name, a) {
    var list = obj.handlers[name] || [];
    for (var i = 0; i < list.length; i++) list[i].call(obj, a); // listeners get their emitter as `this`, as on both runtimes
  };
  return obj;
}

function fakeSocket(kind, onConnect) {
  boardLinks++;
  var socket = makeEmitter({});
  var receiver = new CODEC.Receiver(70000, broker.sink, CODEC.decodePacket);
  var open = true;
  // The broker's side of this connection: what harness.js calls to deliver bytes or hang up.
  var link = {
    events: {
      onData: function (buf, off, len) {
        if (!open) return;
        if (kind === "espruino") {
          for (var p = 0; p < len; p += 536) {
            var n = len - p < 536 ? len - p : 536;
            var s = "";
            for (var i = 0; i < n; i++) s += String.fromCharCode(buf[off + p + i]);
            socket.emit("data", s);
          }
        } else {
          socket.emit("data", copy(buf, off, len));
        }
      },
      onClose: function () {
        if (!open) return;
        open = false;
        if (kind === "espruino") socket.emit("end");
        socket.emit("close");
      }
    }
  };
  broker.link = link;
  socket.write = function (data) {
    if (!open) throw new Error("write after close");
    var bytes;
    if (typeof data === "string") {
      bytes = new Uint8Array(data.length);
      for (var i = 0; i < data.length; i++) bytes[i] = data.charCodeAt(i) & 255;
    } else if (kind === "kaluma" && data instanceof Uint8Array) {
      bytes = copy(data, 0, data.length);
    } else {
      out.errors.push(kind + " socket.write got " + typeof data + ": it would go out as its text");
      return false;
    }
    tasks.push(function () { if (broker.link === link) receiver.push(bytes, 0, bytes.length); });
    if (kind === "espruino") tasks.push(function () { if (open) socket.emit("drain"); });
    return kind === "espruino" ? false : true;
  };
  function hangUp() {
    if (!open) return;
    open = false;
    if (broker.link === link) broker.link = null;
    tasks.push(function () { socket.emit("close"); });
  }
  socket.end = hangUp;
  socket.destroy = hangUp;
  socket.close = hangUp;
  // Kaluma's net.Socket connects later, with connect(options, cb).
  socket.connect = function (options, cb) {
    tasks.push(function () { if (open) cb(); });
    return socket;
  };
  // Espruino calls the connect callback with the socket, as `this` and as its argument.
  if (onConnect) tasks.push(function () { if (open) onConnect.call(socket, socket); });
  return socket;
}

global.setTimeout = function (fn, ms) {
  if (typeof ms !== "number") throw new Error("setTimeout needs a numeric delay");
  // Espruino passes arguments after the delay on to the function; Kaluma does not.
  if (BOARD === "espruino" && arguments.length > 2) {
    var args = Array.prototype.slice.call(arguments, 2);
    return timers.set(function () { fn.apply(null, args); }, ms);
  }
  return timers.set(fn, ms);
};
global.clearTimeout = function (id) {
  if (id === undefined) throw new Error("clearTimeout(undefined)");
  timers.clear(id);
};
if (BOARD === "espruino") {
  global.E = {
    toString: function (u8) {
      var s = "";
      for (var i = 0; i < u8.length; i++) s += String.fromCharCode(u8[i]);
      return s;
    }
  };
  global.getTime = function () { return nowMs / 1000; };
  global.require = function (name) {
    if (name === "net") return { connect: function (options, cb) { return fakeSocket("espruino", cb); } };
    throw new Error("Module " + name + " not found");
  };
} else {
  global.__netdev = { errno: 0 };
  global.millis = function () { return nowMs; };
  global.require = function (name) {
    if (name === "net")
      return {
        Socket: function () { return fakeSocket("kaluma"); },
        createConnection: function (options, cb) { return fakeSocket("kaluma", cb); }
      };
    throw new Error("Module " + name + " not found");
  };
}

function makeBoardClient(options) {
  return MQ.connect(options);
}
