/**
 * `npm run footprint`: the board bundles measured on the real interpreters (../shared/tools),
 * printed as a table and written into bench/RESULTS.md (its own section, replaced on each run)
 * beside the targets of issue 11.
 *
 *   node --import tsx bench/real-footprint.ts [--messages 10000] [--speed 200] [--rounds 3] [--no-write]
 *        [--reference path/to/MQTT.js] [--before GIT-REF]
 *
 * --messages: messages each Espruino client sends itself from Storage (flat memory = no leak).
 * --reference: Espruino's own MQTT module (modules/MQTT.js of the EspruinoDocs repository; it is
 *   not on npm), measured side by side for speed and memory; also ESPRUINO_MQTT_MODULE=FILE.
 *   Without it that column says "not measured".
 * --before: a commit whose Espruino QoS 0 bundle runs the speed cases too, built from that commit
 *   in a temporary worktree (default 8454680^, the last one before the compact board client: the
 *   QoS 0 client `src/lite.ts` on the full codec). Skipped where the history is not there.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";
import { startMosquitto, type RunningMosquitto } from "../test/helpers/brokers.ts";
import * as L from "./real-lib.ts";

const args = process.argv.slice(2);
const opt = (name: string, fallback: string): string => {
  const i = args.indexOf("--" + name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const MESSAGES = Math.max(10, +opt("messages", "10000"));
const SPEED = Math.max(10, +opt("speed", "200"));
const ROUNDS = Math.max(1, +opt("rounds", "3"));
const WRITE = !args.includes("--no-write");
const REFERENCE = opt("reference", process.env.ESPRUINO_MQTT_MODULE || "");
const BEFORE = opt("before", "8454680^");
const log = (s: string) => process.stderr.write("[footprint] " + s + "\n");

const missing = L.runtimesMissing();
if (missing) {
  console.error("footprint: " + missing);
  process.exit(1);
}

const started = Date.now();
const broker: RunningMosquitto = await startMosquitto();
// The same broker with `set_tcp_nodelay true`. With mosquitto's default (Nagle's algorithm on) a
// QoS 1 round to itself costs a delayed ACK: the broker writes PUBACK, then the PUBLISH back,
// and holds that second write until the board's TCP acknowledges the first, which a receiver
// that has nothing to send does only when its delayed-ACK timer fires (~40 ms on Linux).
const noDelayBroker: RunningMosquitto = await startMosquitto(["set_tcp_nodelay true"]);
const fmt = (n: number | null | undefined): string => (n === null || n === undefined || !isFinite(n) ? "–" : Math.round(n).toLocaleString("en-US"));
const kb = (n: number | null | undefined): string => (n === null || n === undefined || !isFinite(n) ? "–" : (n / 1024).toFixed(1) + " KB");

/** Runs `n` tasks two at a time (2 cores); timing runs are not run through this. */
async function pairwise<T>(tasks: (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]();
    }
  };
  await Promise.all([worker(), worker()]);
  return out;
}

// The bundles as they are now, copied: a rebuild during the run does not mix two versions.
const snapshot = L.tempDir("mcu-mqtt-bundles-");
const snap = (file: string, as: string) => {
  const to = join(snapshot.dir, as);
  copyFileSync(file, to);
  return to;
};
const F = {
  espFull: snap(L.ESPRUINO_BUNDLES.full.file, "espruino-mcu-mqtt.js"),
  espQos0: snap(L.ESPRUINO_BUNDLES.qos0.file, "espruino-mcu-mqtt-qos0.js"),
  kalFull: snap(L.KALUMA_BUNDLES.full.file, "kaluma-mcu-mqtt.js"),
  kalQos0: snap(L.KALUMA_BUNDLES.qos0.file, "kaluma-mcu-mqtt-qos0.js"),
};

/** The Espruino QoS 0 bundle as commit `ref` built it, or "" (with a log line saying why). */
function bundleAt(ref: string): string {
  const t = L.tempDir("mcu-mqtt-before-");
  const tree = join(t.dir, "tree");
  const git = (...a: string[]) => spawnSync("git", a, { cwd: L.ROOT, encoding: "utf8" });
  const added = git("worktree", "add", "--detach", tree, ref);
  if (added.status !== 0) {
    log("the QoS 0 build of " + ref + ": not measured (" + (added.stderr || "").trim().split("\n").pop() + ")");
    t.cleanup();
    return "";
  }
  try {
    symlinkSync(join(L.ROOT, "node_modules"), join(tree, "node_modules"));
    const built = spawnSync(process.execPath, [join(L.ROOT, "node_modules/rollup/dist/bin/rollup"), "-c", "--silent"], { cwd: tree, encoding: "utf8" });
    const file = join(tree, "dist/espruino/mcu-mqtt-qos0.js");
    if (built.status !== 0 || !existsSync(file)) {
      log("the QoS 0 build of " + ref + ": not measured (its build failed: " + (built.stderr || "").trim().slice(-200) + ")");
      return "";
    }
    return snap(file, "espruino-before-qos0.js");
  } finally {
    git("worktree", "remove", "--force", tree);
    t.cleanup();
  }
}
const beforeFile = BEFORE ? bundleAt(BEFORE) : "";

let idSeq = 0;
const clientId = (what: string) => "fp-" + what + "-" + process.pid + "-" + idSeq++;

try {
  // ---- the reference module, minified as the Espruino tools would send it
  let referenceText = "";
  if (REFERENCE && existsSync(REFERENCE)) {
    const r = await build({ entryPoints: [REFERENCE], minify: true, write: false, logLevel: "warning", format: "cjs" });
    referenceText = r.outputFiles[0].text;
  } else if (REFERENCE) log("no reference module at " + REFERENCE);
  const referenceFile = referenceText ? join(L.tempDir("mcu-mqtt-ref-").dir, "MQTT.min.js") : "";
  if (referenceFile) writeFileSync(referenceFile, referenceText);

  const images = {
    full: await L.storageImage("mcu-mqtt", F.espFull),
    qos0: await L.storageImage("mcu-mqtt", F.espQos0),
    reference: referenceFile ? await L.storageImage("MQTT", referenceFile) : "",
    before: beforeFile ? await L.storageImage("mcu-mqtt", beforeFile) : "",
  };

  const storageRun = async (image: string, binary: string, s: L.EspruinoScenario, seconds: number) => {
    const d = L.storageDir(image);
    try {
      return L.parseEspruino(await L.runEspruino(binary, L.espruinoSketch(s), d.dir, seconds));
    } finally {
      d.cleanup();
    }
  };

  // ---- Espruino speed: one run at a time, side by side, espruino-5100, from Storage
  log("Espruino speed: " + SPEED + " messages each, one at a time");
  const speedCases: { label: string; image: string; qos: 0 | 1; name: string; reference?: boolean; port: number }[] = [
    { label: "full client, QoS 0", image: images.full, qos: 0, name: "mcu-mqtt", port: broker.port },
    { label: "full client, QoS 1", image: images.full, qos: 1, name: "mcu-mqtt", port: broker.port },
    { label: "QoS 0 build, QoS 0", image: images.qos0, qos: 0, name: "mcu-mqtt", port: broker.port },
  ];
  if (images.reference) speedCases.push({ label: "Espruino's MQTT module, QoS 0", image: images.reference, qos: 0, name: "MQTT", reference: true, port: broker.port });
  if (images.before) speedCases.push({ label: "QoS 0 build of " + BEFORE + ", QoS 0", image: images.before, qos: 0, name: "mcu-mqtt", port: broker.port });
  for (const c of speedCases.slice()) speedCases.push(Object.assign({}, c, { label: c.label + ", broker with set_tcp_nodelay", port: noDelayBroker.port }));
  // Several rounds, the cases one after the other in each: the machine's other load moves the
  // times of single runs a lot; the median of each case is reported.
  const runs: { seconds: number | null; why: string }[][] = speedCases.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < speedCases.length; i++) {
      const c = speedCases[i];
      const o = await storageRun(c.image, "espruino-5100", { name: c.name, port: c.port, clientId: clientId("speed"), qos: c.qos, messages: SPEED, marks: [], reference: c.reference }, 900);
      runs[i].push({ seconds: o.ok ? o.seconds : null, why: o.why });
      log("  round " + (round + 1) + ", " + c.label + ": " + (o.ok ? o.seconds!.toFixed(1) + " s" : o.why));
    }
  }
  const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const speed = speedCases.map((c, i) => {
    const ok = runs[i].filter((r) => r.seconds !== null).map((r) => r.seconds!);
    const failed = runs[i].find((r) => r.seconds === null);
    return { label: c.label, seconds: failed ? null : median(ok), all: ok, why: failed ? failed.why : "" };
  });

  // ---- Espruino from Storage: memory, 1,700 and 5,100 JsVars
  log("Espruino from Storage: " + MESSAGES + " messages each");
  const mid = Math.max(1, Math.floor(MESSAGES / 10));
  const storageCases: { build: string; binary: string; image: string; qos: 0 | 1; name: string; reference?: boolean }[] = [];
  for (const binary of ["espruino-1700", "espruino-5100"]) {
    storageCases.push({ build: "full", binary, image: images.full, qos: 1, name: "mcu-mqtt" });
    storageCases.push({ build: "qos0", binary, image: images.qos0, qos: 0, name: "mcu-mqtt" });
    if (images.reference) storageCases.push({ build: "reference", binary, image: images.reference, qos: 0, name: "MQTT", reference: true });
  }
  const storage = await pairwise(
    storageCases.map((c) => async () => {
      const o = await storageRun(c.image, c.binary, { name: c.name, port: broker.port, clientId: clientId("st"), qos: c.qos, messages: MESSAGES, marks: [mid, MESSAGES], reference: c.reference }, 7200);
      log("  " + c.build + " " + c.binary + ": " + (o.ok ? "ok " + JSON.stringify(o.mem) : o.why));
      return { ...c, o };
    }),
  );

  // ---- Espruino as IDE text: Modules.addCached + sketch in one file
  log("Espruino as IDE text");
  const textCases: { build: string; binary: string; file: string; qos: 0 | 1; name: string; reference?: boolean }[] = [];
  for (const binary of ["espruino-1700", "espruino-5100"]) {
    textCases.push({ build: "full", binary, file: F.espFull, qos: 1, name: "mcu-mqtt" });
    textCases.push({ build: "qos0", binary, file: F.espQos0, qos: 0, name: "mcu-mqtt" });
    if (referenceFile) textCases.push({ build: "reference", binary, file: referenceFile, qos: 0, name: "MQTT", reference: true });
  }
  const text = await pairwise(
    textCases.map((c) => async () => {
      const t = L.tempDir("mcu-mqtt-text-");
      try {
        const script = L.addCachedText(c.name, c.file) + L.espruinoSketch({ name: c.name, port: broker.port, clientId: clientId("tx"), qos: c.qos, messages: 20, marks: [20], reference: c.reference });
        const o = L.parseEspruino(await L.runEspruino(c.binary, script, t.dir, 300));
        log("  " + c.build + " " + c.binary + ": " + (o.ok ? "ok " + JSON.stringify(o.mem) : o.why));
        return { ...c, o };
      } finally {
        t.cleanup();
      }
    }),
  );

  // ---- Kaluma through the bridge
  log("Kaluma");
  const trivial = "var m = process.memoryUsage(); console.log('HEAP start ' + m.heapUsed + ' ' + m.heapPeak);\n";
  const withNet = trivial + "var net = require('net'); m = process.memoryUsage(); console.log('HEAP net ' + m.heapUsed + ' ' + m.heapPeak);\n";
  const kBase = L.parseKaluma(await L.runKaluma(withNet, { seconds: 60 }));
  const base = kBase.heap.start ? kBase.heap.start.used : NaN;
  const netCost = kBase.heap.net ? kBase.heap.net.used - base : NaN;
  // The same measured live (garbage collected first: see KALUMA_LIVE), in runs of their own.
  const liveBase = L.parseKaluma(await L.runKaluma(L.KALUMA_LIVE + "\n" + "console.log('HEAP start 0 0 ' + liveHeap()); var net = require('net'); console.log('HEAP net 0 0 ' + liveHeap());\n", { seconds: 60 }));
  const lBase = liveBase.heap.start && liveBase.heap.start.live !== undefined ? liveBase.heap.start.live : NaN;
  const lNet = liveBase.heap.net && liveBase.heap.net.live !== undefined ? liveBase.heap.net.live - lBase : NaN;
  const live = (o: L.KalumaOutcome, label: string) => (o.heap[label] && o.heap[label].live !== undefined ? o.heap[label].live! : NaN);
  const kaluma: { build: string; bytecode: number; program: number; connected: number; after: number; bigPeak: number; big: string; why: string; ok: boolean; timeMs: number | null; lBytecode: number; lConnected: number; lAfter: number; lBigIn: number }[] = [];
  for (const b of ["full", "qos0"] as const) {
    const B = { qos: L.KALUMA_BUNDLES[b].qos, file: b === "full" ? F.kalFull : F.kalQos0 };
    const idle = L.parseKaluma(await L.runKaluma(trivial, { bundle: B.file, seconds: 60 }));
    const bytecode = idle.heap.start ? idle.heap.start.used - base : NaN;
    const run = await L.runKaluma(L.kalumaProgram({ port: broker.port, clientId: clientId("k"), qos: B.qos, messages: 200, bigPayload: 16384 }), { bundle: B.file, seconds: 300 });
    const o = L.parseKaluma(run);
    const t = /^TIME (\d+)/m.exec(run.out);
    // The scenario program's own bytecode: its start minus the idle program's start (same bundle).
    const program = o.heap.start && idle.heap.start ? o.heap.start.used - idle.heap.start.used : NaN;
    const connected = o.heap.subscribed ? o.heap.subscribed.used - base - netCost - program : NaN;
    const after = o.heap.messages ? o.heap.messages.used - base - netCost - program : NaN;
    // The payload's own 16 KB buffer is the app's: counted from the heap once it is built.
    const bigPeak = o.heap.big && o.heap["big-built"] ? o.heap.big.peak - o.heap["big-built"].used : NaN;
    // Live: the bundle idle, then the scenario (its own bytecode taken off as above).
    const lIdle = L.parseKaluma(await L.runKaluma(L.KALUMA_LIVE + "\n" + "console.log('HEAP start 0 0 ' + liveHeap());\n", { bundle: B.file, seconds: 60 }));
    const lo = L.parseKaluma(await L.runKaluma(L.kalumaProgram({ port: broker.port, clientId: clientId("kl"), qos: B.qos, messages: 200, bigPayload: 16384, live: true }), { bundle: B.file, seconds: 300 }));
    const lProgram = live(lo, "start") - live(lIdle, "start");
    const lBytecode = live(lIdle, "start") - lBase;
    const lConnected = live(lo, "subscribed") - lBase - lNet - lProgram;
    const lAfter = live(lo, "messages") - lBase - lNet - lProgram;
    // At the 16 KB message's arrival, above the moment its sender's own 16 KB buffer was built.
    const lBigIn = live(lo, "big-in") - live(lo, "big-built");
    kaluma.push({ build: b, bytecode, program, connected, after, bigPeak, big: o.big, why: o.why, ok: o.ok, timeMs: t ? +t[1] : null, lBytecode, lConnected, lAfter, lBigIn });
    log("  " + b + ": " + (o.ok ? "ok" : o.why) + " " + JSON.stringify(o.heap));
    log("  " + b + " live: " + (lo.ok ? "ok" : lo.why) + " " + JSON.stringify(lo.heap));
  }

  // ---- bundle text
  const sizes = [
    ["Espruino, full", L.ESPRUINO_BUNDLES.full.file, F.espFull],
    ["Espruino, QoS 0 build", L.ESPRUINO_BUNDLES.qos0.file, F.espQos0],
    ["Kaluma, full", L.KALUMA_BUNDLES.full.file, F.kalFull],
    ["Kaluma, QoS 0 build", L.KALUMA_BUNDLES.qos0.file, F.kalQos0],
  ].map(([what, file, copy]) => ({ what, file: file.slice(L.ROOT.length + 1), bytes: readFileSync(copy).length }));

  // ---- the section
  const find = (list: { build: string; binary: string; o: L.EspruinoOutcome }[], b: string, bin: string) => list.find((x) => x.build === b && x.binary === bin);
  const espCell = (x: { o: L.EspruinoOutcome } | undefined, key: string, minus: string) => {
    if (!x) return "–";
    const v = x.o.mem[key];
    if (v === undefined) return x.o.ok ? "–" : "**" + x.o.why + "**";
    return fmt(v - (minus ? x.o.mem[minus] || 0 : 0));
  };
  const builds = ["full", "qos0"].concat(images.reference ? ["reference"] : []);
  const head = ["full client", "QoS 0 build"].concat(images.reference ? ["Espruino's MQTT module"] : []);
  const lines: string[] = [];
  const row = (cells: string[]) => lines.push("| " + cells.join(" | ") + " |");
  const d = new Date();
  lines.push("## Real interpreters");
  lines.push("");
  lines.push(
    "Written by `npm run footprint` (`bench/real-footprint.ts`) on " + d.toISOString().slice(0, 10) + " in " + Math.round((Date.now() - started) / 1000) + " s: the board bundles as built at that time, on the real interpreters of `../shared/tools` (Espruino 2v29 Linux builds with a board's JsVars, Kaluma 1.2.1 with the Pico W's 180 KB heap, both under qemu), against mosquitto on 127.0.0.1. Run it again to replace this section. Times are emulated: compare them only within one run.",
  );
  lines.push("");
  lines.push("### Espruino, loaded from Storage (JsVars)");
  lines.push("");
  lines.push("Each client connects, subscribes to two filters and sends itself " + fmt(MESSAGES) + " messages one at a time (full client at QoS 1, QoS 0 build at QoS 0" + (images.reference ? ", Espruino's MQTT module at QoS 0" : "") + "). Figures are `process.memory().usage` minus its value at the sketch's start (every function of the sketch already defined), so they are the module's and the client's; *left* is what the sketch still has when connected (total − usage). Target: full ≤ 700, QoS 0 ≤ 400, ≥ 800 left at 1,700.");
  lines.push("");
  row(["JsVars", "board"].concat(head));
  row(["---", "---"].concat(head.map(() => "---:")));
  for (const bin of ["espruino-1700", "espruino-5100"]) {
    const total = bin === "espruino-1700" ? 1700 : 5100;
    row(["after require", bin].concat(builds.map((b) => espCell(find(storage, b, bin), "require", "start"))));
    row(["connected + 2 subscriptions", bin].concat(builds.map((b) => espCell(find(storage, b, bin), "subscribed", "start"))));
    row(["after " + fmt(mid) + " messages", bin].concat(builds.map((b) => espCell(find(storage, b, bin), "at-" + mid, "start"))));
    row(["after " + fmt(MESSAGES) + " messages", bin].concat(builds.map((b) => espCell(find(storage, b, bin), "at-" + MESSAGES, "start"))));
    row(["left to the sketch, connected", bin].concat(builds.map((b) => {
      const x = find(storage, b, bin);
      return x && x.o.mem.subscribed !== undefined ? fmt(total - x.o.mem.subscribed) : espCell(x, "subscribed", "");
    })));
  }
  lines.push("");
  lines.push("### Espruino, loaded as IDE text (`Modules.addCached` + sketch in one upload)");
  lines.push("");
  lines.push("The bundle's text inside `Modules.addCached(name, function () { … })`, then the sketch (minified; connect, two subscriptions, 20 messages), as one upload. Figures are all the JsVars in use, the sketch included (Espruino has no peak figure: an upload that does not fit shows as out of memory).");
  lines.push("");
  row(["board", "step"].concat(head));
  row(["---", "---"].concat(head.map(() => "---:")));
  for (const bin of ["espruino-1700", "espruino-5100"]) {
    row([bin, "uploaded, after require"].concat(builds.map((b) => espCell(find(text, b, bin), "require", ""))));
    row([bin, "connected + 2 subscriptions"].concat(builds.map((b) => espCell(find(text, b, bin), "subscribed", ""))));
    row([bin, "runs?"].concat(builds.map((b) => {
      const x = find(text, b, bin);
      return x ? (x.o.ok ? "runs" : "**" + x.o.why + "**") : "–";
    })));
  }
  lines.push("");
  lines.push("### Espruino speed (espruino-5100, from Storage, one run after the other)");
  lines.push("");
  lines.push(fmt(SPEED) + " messages to itself, one at a time (publish, wait for it, publish the next); " + ROUNDS + " rounds of the cases one after the other, median (every run in the *runs* column). The machine's other load moves single runs by up to 3×.");
  lines.push("");
  lines.push("The cases run against mosquitto as configured for the tests, then against the same broker with `set_tcp_nodelay true`. With mosquitto's default (Nagle's algorithm on) each QoS 1 round waits for a delayed ACK: the broker sends PUBACK, then holds the PUBLISH back until the board's TCP acknowledges the PUBACK, which a receiver with nothing to send does only when its delayed-ACK timer fires. The client cannot shorten that wait; the broker's setting removes it. Target: QoS 1 within 2× of QoS 0.");
  lines.push("");
  row(["case", "seconds", "runs", "vs the QoS 0 build (same broker)"]);
  row(["---", "---:", "---", "---:"]);
  for (const s of speed) {
    const q0 = speed.find((x) => x.label.startsWith("QoS 0 build,") && x.label.endsWith("nodelay") === s.label.endsWith("nodelay"));
    row([s.label, s.seconds === null ? "**" + s.why + "**" : s.seconds.toFixed(1), s.all.map((x) => x.toFixed(1)).join(", "), s.seconds !== null && q0 && q0.seconds ? (q0.seconds / s.seconds).toFixed(2) + "× as fast" : "–"]);
  }
  const now0 = speed.find((x) => x.label === "QoS 0 build, QoS 0");
  const then0 = speed.find((x) => x.label.startsWith("QoS 0 build of "));
  if (now0 && then0 && now0.seconds && then0.seconds) lines.push("", "The QoS 0 build is " + (then0.seconds / now0.seconds).toFixed(1) + "× as fast as the QoS 0 build of " + BEFORE + " in this run (target ≥ 4.5×).");
  else lines.push("", "The QoS 0 build of " + BEFORE + ": not measured (see the run's log).");
  const q1 = (nd: boolean) => speed.find((x) => x.label.startsWith("full client, QoS 1") && x.label.endsWith("nodelay") === nd);
  const f0 = (nd: boolean) => speed.find((x) => x.label.startsWith("full client, QoS 0") && x.label.endsWith("nodelay") === nd);
  for (const nd of [false, true]) {
    const a = q1(nd);
    const b = f0(nd);
    if (a && b && a.seconds && b.seconds) lines.push("", "Full client, QoS 1 against QoS 0" + (nd ? ", broker with set_tcp_nodelay" : ", mosquitto's default") + ": " + (a.seconds / b.seconds).toFixed(1) + "× the time (target ≤ 2×).");
  }
  if (!images.reference) lines.push("", "Espruino's own MQTT module: not measured (give its source with `--reference FILE`; it is not on npm).");
  lines.push("");
  lines.push("### Kaluma 1.2.1 (Pico W heap, through kaluma-bridge.mjs)");
  lines.push("");
  lines.push("Bytes of JS heap. Kaluma with the bridge's prelude: " + fmt(base) + " B; `require('net')`: " + fmt(netCost) + " B more; both are subtracted, as is the test program's own bytecode. The client figures include the bundle's bytecode. Targets: connected full ≤ 16 KB, QoS 0 ≤ 10 KB; 16 KB payload peak ≤ 24 KB above connected.");
  lines.push("");
  lines.push("Kaluma's `heapUsed` counts garbage until a collection runs, and it runs only when an allocation passes the collector's limit, so the first table holds garbage by varying amounts (a quick run of 200 QoS 0 messages leaves ~12 KB of it). The second measures the live heap: before each reading, buffers are made and dropped until a collection has run (`KALUMA_LIVE` in bench/real-lib.ts), in separate runs (that moves the peak). Live, Kaluma with the prelude is " + fmt(lBase) + " B and `require('net')` " + fmt(lNet) + " B more; one open socket of Kaluma's costs about 0.7 KB, counted in the client's figures.");
  lines.push("");
  row(["heapUsed", "full client", "QoS 0 build"]);
  row(["---", "---:", "---:"]);
  const k = (b: string) => kaluma.find((x) => x.build === b)!;
  row(["bytecode of the bundle"].concat(["full", "qos0"].map((b) => kb(k(b).bytecode))));
  row(["connected + 2 subscriptions"].concat(["full", "qos0"].map((b) => kb(k(b).connected))));
  row(["after 200 messages"].concat(["full", "qos0"].map((b) => kb(k(b).after))));
  row(["16 KB QoS 0 payload to itself"].concat(["full", "qos0"].map((b) => (k(b).big.startsWith("ok") ? "sent and received" : k(b).big ? "**" + k(b).big + "**" : "**" + (k(b).why || "not reached") + "**"))));
  row(["heap peak above connected + the 16 KB buffer, 16 KB payload"].concat(["full", "qos0"].map((b) => kb(k(b).bigPeak))));
  row(["200 messages, ms (emulated)"].concat(["full", "qos0"].map((b) => fmt(k(b).timeMs))));
  lines.push("");
  row(["live heap", "full client", "QoS 0 build"]);
  row(["---", "---:", "---:"]);
  row(["bytecode of the bundle"].concat(["full", "qos0"].map((b) => kb(k(b).lBytecode))));
  row(["connected + 2 subscriptions"].concat(["full", "qos0"].map((b) => kb(k(b).lConnected))));
  row(["after 200 messages"].concat(["full", "qos0"].map((b) => kb(k(b).lAfter))));
  row(["at the 16 KB message's arrival, above the sender's 16 KB buffer"].concat(["full", "qos0"].map((b) => kb(k(b).lBigIn))));
  lines.push("");
  lines.push("The bridge keeps received chunks in the JS heap (on a board they are outside it), so the payload peak reads up to ~1.5 KB per chunk high.");
  lines.push("");
  lines.push("### Bundle text");
  lines.push("");
  row(["bundle", "file", "bytes"]);
  row(["---", "---", "---:"]);
  for (const s of sizes) row([s.what, "`" + s.file + "`", fmt(s.bytes)]);
  if (referenceText) row(["Espruino's MQTT module (esbuild --minify)", "modules/MQTT.js", fmt(referenceText.length)]);
  lines.push("");
  const section = lines.join("\n");
  process.stdout.write(section + "\n");

  if (WRITE) {
    const file = join(L.ROOT, "bench/RESULTS.md");
    const old = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmark results\n";
    const start = old.indexOf("\n## Real interpreters\n");
    const next = start < 0 ? -1 : old.indexOf("\n## ", start + 5);
    const before = start < 0 ? old.replace(/\n*$/, "\n") : old.slice(0, start + 1);
    const after = start < 0 || next < 0 ? "" : old.slice(next + 1);
    writeFileSync(file, before + "\n" + section + (after ? "\n" + after : ""));
    log("written into bench/RESULTS.md");
  }
} finally {
  await broker.close();
  await noDelayBroker.close();
  snapshot.cleanup();
}
