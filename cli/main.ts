/**
 * `mcu-mqtt pub` and `mcu-mqtt sub`: mosquitto_pub and mosquitto_sub, running the mcu-mqtt core
 * on the Node board.
 *
 * `main` takes the arguments and the process's streams and resolves with the exit code; the
 * entry point (mcu-mqtt.ts) only wires it to `process`. Like mosquitto's clients, a failure
 * before the first CONNACK ends the command with a one-line error, and a connection lost after
 * it is retried (the core's reconnect with backoff) until the command is done.
 */
import { readFileSync } from "node:fs";
import type { Readable, Writable } from "node:stream";
import { nodeBoard, type NodeTlsOptions } from "../boards/node/index.ts";
import { Client, type ClientOptions, type Granted, type MqttError } from "../src/client.ts";
import { publishSize } from "../src/packet/encode.ts";
import type { DecodedPacket } from "../src/packet/types.ts";
import { ERR_ENDED, ERR_OUTBOX_FULL, ERR_REFUSED, ERR_SUBSCRIBE_REFUSED } from "../src/status.ts";
import { topicMatches } from "../src/topic.ts";
import { effectivePort, parseArgs, type CommonConfig, type PubConfig, type SubConfig } from "./args.ts";
import { MAIN_HELP, PUB_HELP, SUB_HELP } from "./help.ts";
import { describeFailure, EXIT_CONN_LOST, EXIT_ERROR, EXIT_OK, EXIT_TIMEOUT, stripPrefix, type Failure } from "./messages.ts";
import { PacketLog } from "./packet-log.ts";

export interface CliIo {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  /** For -I (the id is the prefix followed by the process id). */
  pid: number;
  /**
   * Calls `handler` on SIGINT/SIGTERM until the returned function is called. `sub` uses it to
   * disconnect cleanly (so the broker drops the will), as mosquitto_sub does. Optional.
   */
  onInterrupt?: (handler: () => void) => () => void;
}

/** Transmit buffer of `pub -l`: the longest line it can send. */
export const LINE_TX_BYTES = 1024 * 1024;
/** Receive buffer of `sub`: the largest message it can print. */
export const SUB_RX_BYTES = 8 * 1024 * 1024;
/** Lines `pub -l` holds in memory before it stops reading stdin for a while. */
const LINES_HIGH_WATER = 1000;
/** Messages `pub -l` hands to the client at once (the outbox has this many slots). */
const LINES_WINDOW = 64;
/** After a forced end, how long to wait for the transport to close before giving up. */
const END_GRACE_MS = 3000;

/** Runs `mcu-mqtt <argv...>`; resolves with the exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const command = argv[0];
  if (command === undefined || command === "--help" || command === "help") {
    (command === undefined ? io.stderr : io.stdout).write(MAIN_HELP);
    return command === undefined ? EXIT_ERROR : EXIT_OK;
  }
  if (command !== "pub" && command !== "sub") {
    io.stderr.write("Error: Unknown command '" + command + "'; use 'mcu-mqtt pub' or 'mcu-mqtt sub' (see 'mcu-mqtt --help').\n");
    return EXIT_ERROR;
  }
  const parsed = parseArgs(command, argv.slice(1), io.pid);
  if (parsed.kind === "help") {
    io.stdout.write(command === "pub" ? PUB_HELP : SUB_HELP);
    return EXIT_OK;
  }
  if (parsed.kind === "error") {
    // Usage errors are printed even with --quiet, as mosquitto's clients do.
    io.stderr.write(parsed.message + "\n");
    return EXIT_ERROR;
  }
  const config = parsed.config;
  return config.command === "pub" ? runPub(config, io) : runSub(config, io);
}

// ---------------------------------------------------------------------------------------------
// Shared

/** Everything a run needs to end exactly once, with the right line and code. */
class Run {
  done = false;
  private client: Client | null = null;
  private resolve: (code: number) => void = () => {};
  private timers: ReturnType<typeof setTimeout>[] = [];
  readonly finished: Promise<number>;
  private readonly quiet: boolean;
  private readonly stderr: Writable;

  constructor(quiet: boolean, stderr: Writable) {
    this.quiet = quiet;
    this.stderr = stderr;
    this.finished = new Promise<number>((resolve) => {
      this.resolve = resolve;
    });
  }

  attach(client: Client): void {
    this.client = client;
  }

  timer(ms: number, fn: () => void): void {
    this.timers.push(setTimeout(fn, ms));
  }

  fail(f: Failure): void {
    this.finish(f.exitCode, f.line, false);
  }

  /**
   * Ends the run: prints `line` on stderr (unless --quiet), ends the client (waiting for
   * outstanding acknowledgements when `graceful`) and resolves with `code` once it has ended.
   */
  finish(code: number, line: string, graceful: boolean): void {
    if (this.done) return;
    this.done = true;
    for (let i = 0; i < this.timers.length; i++) clearTimeout(this.timers[i]);
    if (line && !this.quiet) this.stderr.write(line + "\n");
    const client = this.client;
    if (!client) {
      this.resolve(code);
      return;
    }
    // Deferred: finish() runs inside the client's own event handlers, and an end() from inside
    // the 'error' listener of a closing transport is overridden by the reconnect that follows.
    setImmediate(() => {
      client.end(!graceful, () => this.resolve(code));
      if (!graceful) setTimeout(() => this.resolve(code), END_GRACE_MS).unref();
    });
  }
}

function readTlsFiles(c: CommonConfig): NodeTlsOptions | Failure {
  const t = c.tlsFiles;
  const options: NodeTlsOptions & { checkServerIdentity?: () => undefined } = {};
  try {
    if (t.cafile !== undefined) options.ca = readFileSync(t.cafile);
    if (t.cert !== undefined) options.cert = readFileSync(t.cert);
    if (t.key !== undefined) options.key = readFileSync(t.key);
  } catch (e) {
    return { line: "Error: Problem setting TLS options: File not found.", exitCode: EXIT_ERROR };
  }
  // --insecure: the certificate chain is still checked, only the host name is not.
  if (t.insecure) options.checkServerIdentity = () => undefined;
  return options;
}

function isFailure(x: unknown): x is Failure {
  return typeof x === "object" && x !== null && typeof (x as Failure).line === "string" && typeof (x as Failure).exitCode === "number";
}

/**
 * Creates the client on the Node board (through the packet log with -d) and wires the failures
 * that end a command: any error or close before the first CONNACK.
 */
function startClient(c: CommonConfig, io: CliIo, run: Run, command: "pub" | "sub", sizes: ClientOptions): Client | null {
  let tls: NodeTlsOptions | null = null;
  if (c.tls) {
    const files = readTlsFiles(c);
    if (isFailure(files)) {
      run.fail(files);
      return null;
    }
    tls = files;
  }
  const board = nodeBoard(tls);
  if (c.debug) {
    board.transport = new PacketLog(board.transport, (line) => io.stdout.write(line + "\n"), {
      subscribedLine: command === "sub" && !c.quiet,
    });
  }
  const options: ClientOptions = {
    host: c.host,
    port: effectivePort(c),
    clientId: c.clientId,
    clean: c.clean,
    keepalive: c.keepalive,
    username: c.username,
    password: c.password,
    protocolVersion: c.protocolVersion,
    reconnect: { minMs: 1000, maxMs: 30000 },
    ...sizes,
  };
  if (c.will) options.will = { topic: c.will.topic, payload: c.will.payload, qos: c.will.qos, retain: c.will.retain };
  let client: Client;
  try {
    client = new Client(options, board);
  } catch (e) {
    run.fail({ line: "Error: " + stripPrefix(e instanceof Error ? e.message : String(e)) + ".", exitCode: EXIT_ERROR });
    return null;
  }
  run.attach(client);
  let everConnected = false;
  client.on("connect", () => {
    everConnected = true;
  });
  client.on("error", (err: MqttError) => {
    // After the first CONNACK a lost connection is retried, as mosquitto's clients do; but a
    // refusal other than "server unavailable" leaves the client idle for good, so it ends the
    // command then too.
    const final = err && err.code === ERR_REFUSED && err.returnCode !== 3;
    if (!everConnected || final) run.fail(describeFailure(err, command));
  });
  client.on("close", () => {
    // Closed before CONNACK without an error: the broker hung up on us.
    if (!everConnected) run.fail({ line: "Error: The connection was lost.", exitCode: EXIT_CONN_LOST });
  });
  return client;
}

function readAll(stream: Readable): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => resolve(Buffer.concat(chunks)));
    stream.on("error", reject);
  });
}

// ---------------------------------------------------------------------------------------------
// pub

async function runPub(c: PubConfig, io: CliIo): Promise<number> {
  const run = new Run(c.quiet, io.stderr);
  if (c.source === "lines") return runPubLines(c, io, run);
  let payload: Uint8Array | string;
  if (c.source === "message") payload = c.message;
  else if (c.source === "null") payload = "";
  else if (c.source === "file") {
    try {
      payload = readFileSync(c.file);
    } catch (e) {
      io.stderr.write('Error: Unable to open file "' + c.file + '".\n');
      return EXIT_ERROR;
    }
  } else {
    try {
      payload = await readAll(io.stdin);
    } catch (e) {
      io.stderr.write("Error: Unable to read stdin: " + (e instanceof Error ? e.message : String(e)) + "\n");
      return EXIT_ERROR;
    }
  }
  const size = publishSize(c.topic, payload, c.qos, false, 1);
  if (size < 0) {
    io.stderr.write("Error: Message too large.\n");
    return EXIT_ERROR;
  }
  const client = startClient(c, io, run, "pub", {
    txBytes: size > 4096 ? size : 4096,
    outboxBytes: size > 8192 ? size : 8192,
  });
  if (!client) return run.finished;
  let sent = false;
  client.on("connect", () => {
    if (sent || run.done) return;
    sent = true;
    client.publish(c.topic, payload, { qos: c.qos, retain: c.retain }, (err) => {
      if (err && err.code !== ERR_ENDED) run.fail(describeFailure(err, "pub"));
      else run.finish(EXIT_OK, "", true);
    });
  });
  return run.finished;
}

/**
 * `pub -l`: a message per line of stdin (split at "\n" only, any other byte kept; empty lines
 * skipped), sent in order. Reading pauses while many lines wait, so a fast producer does not
 * fill memory; the outbox never overflows because at most its slot count is handed over at once.
 */
function runPubLines(c: PubConfig, io: CliIo, run: Run): Promise<number> {
  const topicBytes = Buffer.byteLength(c.topic);
  const client = startClient(c, io, run, "pub", {
    txBytes: LINE_TX_BYTES + topicBytes + 16,
    outboxBytes: 4 * LINE_TX_BYTES,
    outboxSlots: LINES_WINDOW,
    maxInflight: 20,
  });
  if (!client) return run.finished;
  const queue: Uint8Array[] = [];
  let head = 0;
  let partial: Buffer | null = null;
  let stdinEnded = false;
  let paused = false;
  let handed = 0;
  let pumping = false;
  const options = { qos: c.qos, retain: c.retain };
  const stdin = io.stdin;

  const onDone = (err: MqttError | null) => {
    handed--;
    if (err) {
      if (err.code === ERR_ENDED) return;
      run.fail(describeFailure(err, "pub"));
      return;
    }
    pump();
  };

  const pump = () => {
    if (pumping || run.done) return;
    pumping = true;
    while (client.connected && head < queue.length && handed < LINES_WINDOW && !run.done) {
      const line = queue[head];
      handed++;
      let full = false;
      try {
        client.publish(c.topic, line, options, (err) => {
          if (err && err.code === ERR_OUTBOX_FULL) {
            // No room in the pool now: the line stays first in the queue and goes when an
            // earlier one is acknowledged.
            full = true;
            handed--;
            return;
          }
          onDone(err);
        });
      } catch (e) {
        handed--;
        run.fail({ line: "Error: Line of " + line.length + " bytes is too long (at most " + LINE_TX_BYTES + ").", exitCode: EXIT_ERROR });
        break;
      }
      if (full) {
        if (handed === 0) run.fail({ line: "Error: Line of " + line.length + " bytes does not fit the outbox.", exitCode: EXIT_ERROR });
        break;
      }
      queue[head++] = EMPTY;
    }
    if (head > 4096 && head * 2 > queue.length) {
      queue.splice(0, head);
      head = 0;
    }
    pumping = false;
    const waiting = queue.length - head;
    if (paused && waiting < LINES_HIGH_WATER / 2 && !stdinEnded) {
      paused = false;
      stdin.resume();
    }
    if (stdinEnded && waiting === 0 && handed === 0) run.finish(EXIT_OK, "", true);
  };

  const addLine = (line: Uint8Array) => {
    if (line.length > 0) queue.push(line);
  };

  stdin.on("data", (chunk: Buffer) => {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) break;
      if (partial) {
        addLine(Buffer.concat([partial, chunk.subarray(start, nl)]));
        partial = null;
      } else {
        addLine(chunk.subarray(start, nl));
      }
      start = nl + 1;
    }
    if (start < chunk.length) partial = partial ? Buffer.concat([partial, chunk.subarray(start)]) : chunk.subarray(start);
    if (queue.length - head >= LINES_HIGH_WATER && !paused) {
      paused = true;
      stdin.pause();
    }
    pump();
  });
  stdin.on("end", () => {
    if (partial) addLine(partial);
    partial = null;
    stdinEnded = true;
    pump();
  });
  stdin.on("error", (e: Error) => run.fail({ line: "Error: Unable to read stdin: " + e.message, exitCode: EXIT_ERROR }));
  client.on("connect", pump);
  return run.finished;
}

const EMPTY = new Uint8Array(0);

// ---------------------------------------------------------------------------------------------
// sub

function runSub(c: SubConfig, io: CliIo): Promise<number> {
  const run = new Run(c.quiet, io.stderr);
  const client = startClient(c, io, run, "sub", {
    rxBytes: SUB_RX_BYTES,
    // Every filter may need a request of its own when the broker lost the session.
    requestSlots: c.topics.length + 8,
  });
  if (!client) return run.finished;
  if (c.timeoutSec > 0) {
    run.timer(c.timeoutSec * 1000, () => run.finish(EXIT_TIMEOUT, "Timed out", true));
  }
  // A message over SUB_RX_BYTES is drained by the core, not delivered: say so.
  client.on("drop", (err: MqttError) => {
    if (!c.quiet) io.stderr.write("Warning: " + stripPrefix(err.message) + " (larger than " + SUB_RX_BYTES + " bytes)\n");
  });
  let printed = 0;
  const newline = Buffer.from("\n");
  client.on("message", (topic: string, payload: Uint8Array, packet: DecodedPacket) => {
    if (run.done) return;
    if (c.noRetained && packet.retain) return;
    for (let i = 0; i < c.filterOut.length; i++) if (topicMatches(c.filterOut[i], topic)) return;
    // `payload` is valid during this call only: Buffer.concat copies it.
    if (c.verbose) {
      if (payload.length > 0) io.stdout.write(Buffer.concat(c.eol ? [Buffer.from(topic + " "), payload, newline] : [Buffer.from(topic + " "), payload]));
      else if (c.eol) io.stdout.write(topic + " (null)\n");
    } else if (payload.length > 0) {
      io.stdout.write(Buffer.concat(c.eol ? [payload, newline] : [payload]));
    }
    printed++;
    if (c.count > 0 && printed >= c.count) run.finish(EXIT_OK, "", true);
  });
  client.subscribe(c.topics, { qos: c.qos }, (err: MqttError | null, granted: Granted[]) => {
    if (run.done) return;
    let allDenied = granted.length > 0;
    for (let i = 0; i < granted.length; i++) if (granted[i].qos !== 128) allDenied = false;
    if (allDenied) run.finish(EXIT_ERROR, "All subscription requests were denied.", false);
    else if (err && err.code !== ERR_SUBSCRIBE_REFUSED && err.code !== ERR_ENDED) run.fail(describeFailure(err, "sub"));
    else if (c.exitAfterSubscribe) run.finish(EXIT_OK, "", true);
  });
  if (io.onInterrupt) {
    const undo = io.onInterrupt(() => run.finish(EXIT_OK, "", false));
    run.finished.then(undo, undo);
  }
  return run.finished;
}
