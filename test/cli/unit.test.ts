/**
 * The CLI's parts without mosquitto: option parsing, the packet log's wording, and the exit
 * codes for each CONNACK refusal (from a tiny in-process broker that only refuses).
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import { Readable, Writable } from "node:stream";
import { describe, it } from "node:test";
import { parseArgs, type PubConfig, type SubConfig } from "../../cli/args.ts";
import { main, type CliIo } from "../../cli/main.ts";
import { describePacket, PacketLog } from "../../cli/packet-log.ts";
import { encodePacket, packetSize } from "../../src/packet/encode.ts";
import {
  CONNACK,
  CONNECT,
  DISCONNECT,
  PINGREQ,
  PINGRESP,
  PUBACK,
  PUBCOMP,
  PUBLISH,
  PUBREC,
  PUBREL,
  SUBACK,
  SUBSCRIBE,
  UNSUBACK,
  UNSUBSCRIBE,
  type Packet,
} from "../../src/packet/types.ts";
import type { Transport, TransportEvents } from "../../src/transport.ts";
import { chatWill, nickError, startChat as startRoom, type ChatClient } from "../../examples/chat/room.ts";

function bytes(p: Packet): Uint8Array {
  const buf = new Uint8Array(packetSize(p));
  encodePacket(buf, 0, p);
  return buf;
}

function describeOne(p: Packet, sending: boolean): string[] {
  const b = bytes(p);
  return describePacket("me", sending, b, 0, b.length, { subscribedLine: true });
}

describe("option parsing", () => {
  const error = (command: "pub" | "sub", argv: string[]) => {
    const r = parseArgs(command, argv, 4242);
    assert.equal(r.kind, "error", JSON.stringify(argv));
    return r.kind === "error" ? r.message : "";
  };

  it("reports mistakes in mosquitto's words", () => {
    const cases: ["pub" | "sub", string[], string][] = [
      ["pub", ["-m", "x"], "Error: Both topic and message must be supplied."],
      ["pub", ["-t", "x"], "Error: Both topic and message must be supplied."],
      ["pub", ["-t", "x", "-m", "y", "-l"], "Error: Only one type of message can be sent at once."],
      ["pub", ["-t", "a/+", "-m", "y"], "Error: Invalid publish topic 'a/+', does it contain '+' or '#'?"],
      ["pub", ["-t", "a/#", "-m", "y"], "Error: Invalid publish topic 'a/#', does it contain '+' or '#'?"],
      ["sub", [], "Error: You must specify a topic to subscribe to."],
      ["sub", ["-t", "a/#/b"], "Error: Invalid subscription topic 'a/#/b', are all '+' and '#' wildcards correct?"],
      ["sub", ["-t", "a/b+"], "Error: Invalid subscription topic 'a/b+', are all '+' and '#' wildcards correct?"],
      ["sub", ["-t", "a", "-T", "x#"], "Error: Invalid filter topic 'x#', are all '+' and '#' wildcards correct?"],
      ["pub", ["-t", "x", "-m", "y", "-q", "3"], "Error: Invalid QoS given: 3"],
      ["pub", ["-t", "x", "-m", "y", "-p", "70000"], "Error: Invalid port given: 70000"],
      ["pub", ["-t", "x", "-m", "y", "-p"], "Error: -p argument given but no port specified."],
      ["pub", ["-t", "x", "-m", "y", "-V"], "Error: --protocol-version argument given but no version specified."],
      ["pub", ["-t", "x", "-m", "y", "-k", "3"], "Error: Invalid keepalive given, it must be between 5 and 65535 inclusive."],
      ["pub", ["-t", "x", "-m", "y", "-V", "7"], "Error: Invalid protocol version argument given."],
      ["pub", ["-t", "x", "-m", "y", "-V", "mqttv5"], "Error: MQTT v5 is not supported; use mqttv311 or mqttv31."],
      ["pub", ["-t", "x", "-m", "y", "--bogus"], "Error: Unknown option '--bogus'."],
      ["pub", ["-t", "x", "-m", "y", "-v"], "Error: Unknown option '-v'."],
      ["sub", ["-t", "x", "-r"], "Error: Unknown option '-r'."],
      ["pub", ["-t", "x", "-m", "y", "-i", ""], "Error: Invalid id."],
      ["pub", ["-t", "x", "-m", "y", "-c"], "Error: You must provide a client id if you are using the -c option."],
      ["pub", ["-t", "x", "-m", "y", "-i", "a", "-I", "b"], "Error: -i and -I argument cannot be used together."],
      ["pub", ["-t", "x", "-m", "y", "-P", "pw"], "Error: Problem setting username and/or password."],
      ["pub", ["-t", "x", "-m", "y", "--will-payload", "p"], "Error: Will payload given, but no will topic given."],
      ["pub", ["-t", "x", "-m", "y", "--will-retain"], "Error: Will retain given, but no will topic given."],
      ["pub", ["-t", "x", "-m", "y", "--will-topic", "w", "--will-qos", "3"], "Error: Invalid will QoS 3."],
      ["pub", ["-t", "x", "-m", "y", "--will-topic", "w/+"], "Error: Invalid will topic 'w/+', does it contain '+' or '#'?"],
      ["pub", ["-t", "x", "-m", "y", "--cert", "c.pem"], "Error: Both certfile and keyfile must be provided if one of them is set."],
      ["sub", ["-t", "x", "-C", "0"], 'Error: Invalid message count "0".'],
      ["sub", ["-t", "x", "-W", "0"], 'Error: Invalid timeout "0".'],
      ["pub", ["-L", "http://h/t", "-m", "y"], "Error: unsupported URL scheme."],
      ["pub", ["-L", "mqtt://h", "-m", "y"], "Error: Invalid URL for -L argument specified - topic missing."],
    ];
    for (const [command, argv, message] of cases) assert.equal(error(command, argv), message, JSON.stringify(argv));
  });

  it("reads every flag", () => {
    const r = parseArgs(
      "pub",
      ["-h", "broker", "-p", "1884", "-t", "a/b", "-f", "data.bin", "-q", "2", "-r", "-i", "me", "-u", "user", "-P", "pw", "-k", "30", "-c",
        "-d", "--quiet", "--will-topic", "w", "--will-payload", "bye", "--will-qos", "1", "--will-retain", "-V", "mqttv31",
        "--cafile", "ca.pem", "--cert", "c.pem", "--key", "c.key", "--insecure"],
      1,
    );
    assert.equal(r.kind, "run");
    const c = (r as { config: PubConfig }).config;
    assert.deepEqual(
      [c.host, c.port, c.topic, c.source, c.file, c.qos, c.retain, c.clientId, c.username, c.password, c.keepalive, c.clean, c.debug, c.quiet, c.protocolVersion, c.tls],
      ["broker", 1884, "a/b", "file", "data.bin", 2, true, "me", "user", "pw", 30, false, true, true, 3, true],
    );
    assert.deepEqual(c.will, { topic: "w", payload: "bye", qos: 1, retain: true });
    assert.deepEqual(c.tlsFiles, { cafile: "ca.pem", cert: "c.pem", key: "c.key", insecure: true });

    const s = parseArgs("sub", ["-t", "a/#", "-t", "b", "-v", "-C", "5", "-W", "9", "-N", "-R", "-E", "-T", "a/x", "-I", "pre-", "-V", "311"], 77);
    const sc = (s as { config: SubConfig }).config;
    assert.deepEqual(
      [sc.topics, sc.verbose, sc.count, sc.timeoutSec, sc.eol, sc.noRetained, sc.exitAfterSubscribe, sc.filterOut, sc.clientId, sc.protocolVersion],
      [["a/#", "b"], true, 5, 9, false, true, true, ["a/x"], "pre-77", 4],
    );
  });

  it("-L: user, password, host, port and a topic with wildcards; mqtts means TLS on 8883", () => {
    const r = parseArgs("sub", ["-L", "mqtts://bob:p@ss:w0rd@example.com/a/+/#", "-t", "more"], 1);
    const c = (r as { config: SubConfig }).config;
    assert.deepEqual([c.username, c.password, c.host, c.port, c.tls, c.topics], ["bob", "p@ss:w0rd", "example.com", -1, true, ["a/+/#", "more"]]);
    const v6 = parseArgs("pub", ["-L", "mqtt://[::1]:1999/t", "-m", "x"], 1);
    const c6 = (v6 as { config: PubConfig }).config;
    assert.deepEqual([c6.host, c6.port, c6.topic, c6.tls], ["::1", 1999, "t", false]);
  });
});

describe("the packet log", () => {
  it("words each packet as libmosquitto's debug log does", () => {
    assert.deepEqual(describeOne({ type: CONNECT, protocolVersion: 4, clientId: "me", clean: true, keepalive: 60 }, true), ["Client me sending CONNECT"]);
    assert.deepEqual(describeOne({ type: CONNACK, sessionPresent: false, returnCode: 0 }, false), ["Client me received CONNACK (0)"]);
    assert.deepEqual(describeOne({ type: CONNACK, sessionPresent: false, returnCode: 5 }, false), ["Client me received CONNACK (5)"]);
    assert.deepEqual(describeOne({ type: PUBLISH, topic: "a/b", payload: "hello world", qos: 1, retain: false, dup: false, packetId: 7 }, true), [
      "Client me sending PUBLISH (d0, q1, r0, m7, 'a/b', ... (11 bytes))",
    ]);
    assert.deepEqual(describeOne({ type: PUBLISH, topic: "a", payload: "", qos: 2, retain: true, dup: true, packetId: 9 }, false), [
      "Client me received PUBLISH (d1, q2, r1, m9, 'a', ... (0 bytes))",
    ]);
    assert.deepEqual(describeOne({ type: PUBACK, packetId: 3 }, false), ["Client me received PUBACK (Mid: 3, RC:0)"]);
    assert.deepEqual(describeOne({ type: PUBACK, packetId: 3 }, true), ["Client me sending PUBACK (m3, rc0)"]);
    assert.deepEqual(describeOne({ type: PUBREC, packetId: 4 }, false), ["Client me received PUBREC (Mid: 4)"]);
    assert.deepEqual(describeOne({ type: PUBREC, packetId: 4 }, true), ["Client me sending PUBREC (m4, rc0)"]);
    assert.deepEqual(describeOne({ type: PUBREL, packetId: 4 }, true), ["Client me sending PUBREL (m4)"]);
    assert.deepEqual(describeOne({ type: PUBREL, packetId: 4 }, false), ["Client me received PUBREL (Mid: 4)"]);
    assert.deepEqual(describeOne({ type: PUBCOMP, packetId: 4 }, false), ["Client me received PUBCOMP (Mid: 4, RC:0)"]);
    assert.deepEqual(describeOne({ type: PUBCOMP, packetId: 4 }, true), ["Client me sending PUBCOMP (m4)"]);
    assert.deepEqual(
      describeOne({ type: SUBSCRIBE, packetId: 1, subscriptions: [{ topic: "t", qos: 0 }, { topic: "u/#", qos: 2 }] }, true),
      ["Client me sending SUBSCRIBE (Mid: 1, Topic: t, QoS: 0, Options: 0x00)", "Client me sending SUBSCRIBE (Mid: 1, Topic: u/#, QoS: 2, Options: 0x00)"],
    );
    assert.deepEqual(describeOne({ type: SUBACK, packetId: 1, granted: [0, 128] }, false), ["Client me received SUBACK", "Subscribed (mid: 1): 0, 128"]);
    assert.deepEqual(describeOne({ type: UNSUBSCRIBE, packetId: 2, topics: ["t"] }, true), ["Client me sending UNSUBSCRIBE (Mid: 2, Topic: t)"]);
    assert.deepEqual(describeOne({ type: UNSUBACK, packetId: 2 }, false), ["Client me received UNSUBACK"]);
    assert.deepEqual(describeOne({ type: PINGREQ }, true), ["Client me sending PINGREQ"]);
    assert.deepEqual(describeOne({ type: PINGRESP }, false), ["Client me received PINGRESP"]);
    assert.deepEqual(describeOne({ type: DISCONNECT }, true), ["Client me sending DISCONNECT"]);
  });

  it("passes every byte on, a packet at a time, however they were chunked, and never logs the password", () => {
    const lines: string[] = [];
    const written: number[] = [];
    let opened: TransportEvents | null = null;
    const inner: Transport = {
      open: (_host, _port, events) => {
        opened = events;
      },
      write: (b, off, len) => {
        for (let i = 0; i < len; i++) written.push(b[off + i]);
        return true;
      },
      close: () => {},
    };
    const received: number[] = [];
    const seenByClient: string[] = [];
    const client: TransportEvents = {
      onOpen: () => {},
      onData: (chunk, off, len) => {
        for (let i = 0; i < len; i++) received.push(chunk[off + i]);
        seenByClient.push(lines[lines.length - 1]);
      },
      onDrain: () => {},
      onClose: () => {},
    };
    const log = new PacketLog(inner, (line) => lines.push(line));
    log.open("h", 1, client);
    const connect = bytes({ type: CONNECT, protocolVersion: 4, clientId: "dev-1", clean: true, keepalive: 60, username: "u", password: "hunter2-secret" });
    // Written in two pieces: the log waits for the whole packet.
    log.write(connect, 0, 10);
    log.write(connect, 10, connect.length - 10);
    assert.deepEqual(written, Array.from(connect));
    const stream = Buffer.concat([
      bytes({ type: CONNACK, sessionPresent: false, returnCode: 0 }),
      bytes({ type: PUBLISH, topic: "t/1", payload: "x".repeat(300), qos: 1, retain: false, dup: false, packetId: 1 }),
      bytes({ type: PINGRESP }),
    ]);
    for (let i = 0; i < stream.length; i++) opened!.onData(stream, i, 1);
    assert.deepEqual(received, Array.from(stream));
    assert.deepEqual(lines, [
      "Client dev-1 sending CONNECT",
      "Client dev-1 received CONNACK (0)",
      "Client dev-1 received PUBLISH (d0, q1, r0, m1, 't/1', ... (300 bytes))",
      "Client dev-1 received PINGRESP",
    ]);
    // Each packet reached the client right after its own line.
    assert.deepEqual(seenByClient, lines.slice(1));
    assert.ok(!lines.join("\n").includes("hunter2"));
  });
});

/** Collects what the CLI writes. */
function sink(): Writable & { text(): string } {
  const chunks: Buffer[] = [];
  const w = new Writable({
    write(chunk, _enc, done) {
      chunks.push(Buffer.from(chunk));
      done();
    },
  }) as Writable & { text(): string };
  w.text = () => Buffer.concat(chunks).toString("utf8");
  return w;
}

async function runMain(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = sink();
  const stderr = sink();
  const io: CliIo = { stdin: Readable.from([]), stdout, stderr, pid: 1234 };
  const code = await main(argv, io);
  return { code, out: stdout.text(), err: stderr.text() };
}

/** A broker that answers every CONNECT with CONNACK `returnCode` (or hangs up at once with -1). */
async function refusingBroker(returnCode: number): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("error", () => {});
    if (returnCode < 0) {
      s.destroy();
      return;
    }
    s.once("data", () => s.write(Buffer.from([0x20, 0x02, 0x00, returnCode])));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

describe("main", () => {
  it("--help lists every flag and exits 0; no command is an error", async () => {
    const help = await runMain(["--help"]);
    assert.equal(help.code, 0);
    for (const flag of ["-h", "-p", "-t", "-m", "-f", "-l", "-n", "-s", "-q", "-r", "-i", "-I", "-u", "-P", "-k", "-c", "-v", "-d", "--quiet",
      "--will-topic", "--will-payload", "--will-qos", "--will-retain", "-V", "-C", "-W", "-L", "--cafile", "--cert", "--key"]) {
      assert.ok(help.out.includes(" " + flag + " ") || help.out.includes(" " + flag + ","), "help lacks " + flag);
    }
    for (const command of ["pub", "sub"]) {
      const r = await runMain([command, "--help"]);
      assert.equal(r.code, 0);
      assert.match(r.out, new RegExp("^mcu-mqtt " + command));
    }
    const none = await runMain([]);
    assert.equal(none.code, 1);
    const bad = await runMain(["publish"]);
    assert.deepEqual([bad.code, bad.err], [1, "Error: Unknown command 'publish'; use 'mcu-mqtt pub' or 'mcu-mqtt sub' (see 'mcu-mqtt --help').\n"]);
  });

  it("each CONNACK refusal: its line; pub exits 5, sub with the return code", { timeout: 60000 }, async () => {
    const texts = [
      "",
      "Connection Refused: unacceptable protocol version.",
      "Connection Refused: identifier rejected.",
      "Connection Refused: broker unavailable.",
      "Connection Refused: bad user name or password.",
      "Connection Refused: not authorised.",
    ];
    await Promise.all(
      [1, 2, 3, 4, 5].map(async (rc) => {
        const broker = await refusingBroker(rc);
        try {
          const hp = ["-h", "127.0.0.1", "-p", String(broker.port)];
          const [pub, sub] = await Promise.all([runMain(["pub"].concat(hp, ["-t", "t", "-m", "x"])), runMain(["sub"].concat(hp, ["-t", "t"]))]);
          assert.deepEqual([pub.code, pub.err], [5, "Connection error: " + texts[rc] + "\n"]);
          assert.deepEqual([sub.code, sub.err], [rc, "Connection error: " + texts[rc] + "\n"]);
        } finally {
          await broker.close();
        }
      }),
    );
  });

  it("a broker that hangs up before CONNACK: the connection was lost, exit 7", { timeout: 60000 }, async () => {
    const broker = await refusingBroker(-1);
    try {
      const r = await runMain(["pub", "-h", "127.0.0.1", "-p", String(broker.port), "-t", "t", "-m", "x"]);
      assert.equal(r.code, 7);
      assert.match(r.err, /^Error: The connection was lost.*\n$/);
    } finally {
      await broker.close();
    }
  });

  it("every subscription refused (SUBACK 0x80): one line, exit 1", { timeout: 60000 }, async () => {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((s) => {
      sockets.add(s);
      s.on("error", () => {});
      let connected = false;
      s.on("data", (d: Buffer) => {
        if (!connected) {
          connected = true;
          s.write(Buffer.from([0x20, 0x02, 0x00, 0x00]));
        } else if (d[0] === 0x82) {
          // SUBSCRIBE with a one-byte remaining length: its packet id follows.
          s.write(Buffer.from([0x90, 0x04, d[2], d[3], 0x80, 0x80]));
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const port = String((server.address() as net.AddressInfo).port);
      const r = await runMain(["sub", "-h", "127.0.0.1", "-p", port, "-t", "a", "-t", "b", "-d", "-i", "den"]);
      assert.deepEqual([r.code, r.err], [1, "All subscription requests were denied.\n"]);
      assert.match(r.out, /Client den received SUBACK\nSubscribed \(mid: 1\): 128, 128\n/);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("a missing -f file or TLS file: one line, exit 1", async () => {
    const f = await runMain(["pub", "-t", "t", "-f", "/nonexistent/file"]);
    assert.deepEqual([f.code, f.err], [1, 'Error: Unable to open file "/nonexistent/file".\n']);
    const tls = await runMain(["pub", "-t", "t", "-m", "x", "--cafile", "/nonexistent/ca.pem"]);
    assert.deepEqual([tls.code, tls.err], [1, "Error: Problem setting TLS options: File not found.\n"]);
  });
});

describe("the chat's room module, on a stand-in client", () => {
  it("waits for the subscription, then announces, routes commands and leaves with /quit", () => {
    const published: string[] = [];
    const listeners: { [event: string]: ((...args: never[]) => void)[] } = {};
    let subscribeDone: ((err: Error | null, granted: { qos: number }[]) => void) | undefined;
    let ended = false;
    const client: ChatClient = {
      publish: (topic, payload, _options, callback) => {
        published.push(topic + " " + payload);
        if (callback) callback(null);
      },
      subscribe: (filters, _options, callback) => {
        assert.deepEqual(filters, ["chat/public", "chat/private/ann"]);
        subscribeDone = callback;
      },
      on: (event: string, listener: (...args: never[]) => void) => {
        (listeners[event] = listeners[event] || []).push(listener);
      },
      end: () => {
        ended = true;
        for (const l of listeners.end || []) (l as () => void)();
      },
    };
    const shown: string[] = [];
    let left = false;
    const chat = startRoom(client, "ann", (line) => shown.push(line), () => (left = true));
    chat.input("early bird\r");
    assert.deepEqual(published, []);
    subscribeDone!(null, [{ qos: 1 }, { qos: 1 }]);
    assert.deepEqual(published, ["chat/public * ann joined", "chat/public ann: early bird"]);
    chat.input("/priv bo hi there");
    chat.input("/priv bad/nick hi");
    chat.input("/priv bo");
    chat.input("   ");
    const deliver = (topic: string, text: string) => {
      for (const l of listeners.message) (l as (t: string, p: Uint8Array) => void)(topic, new TextEncoder().encode(text));
    };
    deliver("chat/private/ann", "bo: hey ✓");
    deliver("chat/public", "bo: all");
    chat.input("/quit bye all");
    chat.input("after quit");
    assert.deepEqual(published.slice(2), ["chat/private/bo ann: hi there", "chat/public * ann left (bye all)"]);
    assert.ok(ended && left && chat.left());
    assert.deepEqual(shown.slice(1), [
      "(to bo) hi there",
      "! usage: /priv <nick> <text> (a nickname cannot contain '/')",
      "! usage: /priv <nick> <text>",
      "(private) bo: hey ✓",
      "bo: all",
    ]);
    assert.equal(chatWill("ann").payload, "* ann left unexpectedly");
    assert.equal(nickError("a b"), "a nickname cannot contain 'space'");
  });
});
