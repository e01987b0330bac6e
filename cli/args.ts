/**
 * Command-line options of `mcu-mqtt pub` and `mcu-mqtt sub`, taken as mosquitto_pub and
 * mosquitto_sub take them: each flag and its value are separate arguments, flags may come in any
 * order, and a later flag overrides an earlier one (so `-L` and `-h`/`-p` combine by position).
 *
 * Parsing is pure: no file is read and nothing is printed. Errors come back as the one-line text
 * mosquitto's clients print for the same mistake, with exit code 1.
 */
import { validateTopicFilter, validateTopicName } from "../src/topic.ts";

export interface WillConfig {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
}

export interface TlsConfig {
  cafile?: string;
  cert?: string;
  key?: string;
  /** Skip the host name check of the server certificate (the chain is still verified). */
  insecure: boolean;
}

/** Options both commands share. */
export interface CommonConfig {
  host: string;
  /** -1: the default, 1883 or 8883 with TLS. */
  port: number;
  username?: string;
  password?: string;
  /** From -i; undefined lets the core generate one. */
  clientId?: string;
  /** From -I: the id is this prefix followed by the process id. */
  idPrefix?: string;
  keepalive: number;
  qos: number;
  clean: boolean;
  debug: boolean;
  quiet: boolean;
  will?: WillConfig;
  /** 3 for MQTT 3.1, 4 for MQTT 3.1.1. */
  protocolVersion: number;
  /** True for mqtts:// URLs, and whenever a CA file is given. */
  tls: boolean;
  tlsFiles: TlsConfig;
}

/** Where `pub` takes its message from. */
export type PayloadSource = "message" | "file" | "lines" | "null" | "stdin";

export interface PubConfig extends CommonConfig {
  command: "pub";
  topic: string;
  source: PayloadSource;
  /** -m text. */
  message: string;
  /** -f path. */
  file: string;
  retain: boolean;
}

export interface SubConfig extends CommonConfig {
  command: "sub";
  topics: string[];
  /** -T: topics whose messages are not printed. */
  filterOut: string[];
  verbose: boolean;
  /** -C: exit after this many messages (0: never). */
  count: number;
  /** -W: exit after this many seconds (0: never). */
  timeoutSec: number;
  /** False with -N: no newline after each payload. */
  eol: boolean;
  /** -R: do not print messages that arrive with the retain flag. */
  noRetained: boolean;
  /** -E: exit once the subscriptions are acknowledged. */
  exitAfterSubscribe: boolean;
}

export type Config = PubConfig | SubConfig;

export type ParseResult =
  | { kind: "run"; config: Config }
  | { kind: "help" }
  | { kind: "error"; message: string };

/** Long spellings mosquitto also accepts, mapped to the short flag. */
const ALIASES: { [long: string]: string } = {
  "--host": "-h",
  "--port": "-p",
  "--topic": "-t",
  "--message": "-m",
  "--file": "-f",
  "--stdin-line": "-l",
  "--null-message": "-n",
  "--stdin-file": "-s",
  "--qos": "-q",
  "--retain": "-r",
  "--id": "-i",
  "--id-prefix": "-I",
  "--username": "-u",
  "--pw": "-P",
  "--keepalive": "-k",
  "--disable-clean-session": "-c",
  "--verbose": "-v",
  "--debug": "-d",
  "--count": "-C",
  "--protocol-version": "-V",
  "--url": "-L",
  "--filter-out": "-T",
  "--no-retain": "-R",
};

/** What each value-taking flag calls its value in "argument given but no X specified". */
const VALUE_NAMES: { [flag: string]: string } = {
  "-h": "host",
  "-p": "port",
  "-t": "topic",
  "-m": "message",
  "-f": "file",
  "-q": "QoS",
  "-i": "id",
  "-I": "id prefix",
  "-u": "username",
  "-P": "password",
  "-k": "keepalive",
  "-V": "version",
  "-L": "URL",
  "-C": "count",
  "-W": "timeout",
  "-T": "topic filter",
  "--will-topic": "will topic",
  "--will-payload": "will payload",
  "--will-qos": "will QoS",
  "--cafile": "file",
  "--cert": "file",
  "--key": "file",
};

/** Flags each command accepts (besides --help). */
const COMMON_FLAGS = [
  "-h", "-p", "-t", "-q", "-i", "-I", "-u", "-P", "-k", "-c", "-d", "-V", "-L",
  "--quiet", "--will-topic", "--will-payload", "--will-qos", "--will-retain",
  "--cafile", "--cert", "--key", "--insecure",
];
const PUB_FLAGS = COMMON_FLAGS.concat(["-m", "-f", "-l", "-n", "-s", "-r"]);
const SUB_FLAGS = COMMON_FLAGS.concat(["-v", "-C", "-W", "-N", "-R", "-E", "-T"]);

function isPlainInteger(text: string): boolean {
  return /^[0-9]+$/.test(text);
}

function defaults(): CommonConfig {
  return {
    host: "localhost",
    port: -1,
    keepalive: 60,
    qos: 0,
    clean: true,
    debug: false,
    quiet: false,
    protocolVersion: 4,
    tls: false,
    tlsFiles: { insecure: false },
  };
}

/**
 * Applies `-L mqtt(s)://[user[:password]@]host[:port]/topic`. Returns an error line or "".
 * The URL is split by hand rather than with `URL`: a topic may hold `#` and `+`, which a URL
 * parser takes for a fragment and leaves out of the path.
 */
function applyUrl(url: string, c: CommonConfig, topics: string[]): string {
  let rest: string;
  if (url.indexOf("mqtt://") === 0) {
    rest = url.slice(7);
    c.tls = false;
  } else if (url.indexOf("mqtts://") === 0) {
    rest = url.slice(8);
    c.tls = true;
  } else {
    return "Error: unsupported URL scheme.";
  }
  const slash = rest.indexOf("/");
  if (slash < 0) return "Error: Invalid URL for -L argument specified - topic missing.";
  let authority = rest.slice(0, slash);
  const topic = rest.slice(slash + 1);
  const at = authority.lastIndexOf("@");
  if (at >= 0) {
    const userInfo = authority.slice(0, at);
    authority = authority.slice(at + 1);
    const colon = userInfo.indexOf(":");
    if (colon >= 0) {
      c.username = userInfo.slice(0, colon);
      c.password = userInfo.slice(colon + 1);
    } else {
      c.username = userInfo;
    }
  }
  let host = authority;
  let portText = "";
  if (host.charAt(0) === "[") {
    // An IPv6 literal: [::1]:1883
    const close = host.indexOf("]");
    if (close < 0) return "Error: Invalid URL for -L argument specified - host missing.";
    portText = host.slice(close + 1).replace(/^:/, "");
    host = host.slice(1, close);
  } else {
    const colon = host.lastIndexOf(":");
    if (colon >= 0) {
      portText = host.slice(colon + 1);
      host = host.slice(0, colon);
    }
  }
  if (!host) return "Error: Invalid URL for -L argument specified - host missing.";
  c.host = host;
  if (portText) {
    if (!isPlainInteger(portText) || +portText < 1 || +portText > 65535) return "Error: Invalid port given: " + portText;
    c.port = +portText;
  } else {
    c.port = -1;
  }
  topics.push(topic);
  return "";
}

/**
 * Parses the arguments after `pub` or `sub`. `pid` serves `-I`.
 * Returns the configuration, a request for help, or the error line to print (exit code 1).
 */
export function parseArgs(command: "pub" | "sub", argv: string[], pid: number): ParseResult {
  const c = defaults();
  const allowed = command === "pub" ? PUB_FLAGS : SUB_FLAGS;
  const topics: string[] = [];
  const filterOut: string[] = [];
  const sources: PayloadSource[] = [];
  let message = "";
  let file = "";
  let retain = false;
  let verbose = false;
  let count = 0;
  let timeoutSec = 0;
  let eol = true;
  let noRetained = false;
  let exitAfterSubscribe = false;
  let willTopic: string | undefined;
  let willPayload: string | undefined;
  let willQos = 0;
  let willRetain = false;

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--help") return { kind: "help" };
    const flag = ALIASES[arg] !== undefined ? ALIASES[arg] : arg;
    if (allowed.indexOf(flag) < 0) return { kind: "error", message: "Error: Unknown option '" + arg + "'." };
    let value = "";
    if (VALUE_NAMES[flag] !== undefined) {
      if (i + 1 >= argv.length) {
        const spelled = flag === "-V" ? "--protocol-version" : arg;
        return { kind: "error", message: "Error: " + spelled + " argument given but no " + VALUE_NAMES[flag] + " specified." };
      }
      value = argv[++i];
    }
    switch (flag) {
      case "-h":
        c.host = value;
        break;
      case "-p":
        if (!isPlainInteger(value) || +value < 1 || +value > 65535) return { kind: "error", message: "Error: Invalid port given: " + value };
        c.port = +value;
        break;
      case "-t":
        // pub sends to the last topic given, sub subscribes to each.
        topics.push(value);
        break;
      case "-T":
        filterOut.push(value);
        break;
      case "-q":
        if (value !== "0" && value !== "1" && value !== "2") return { kind: "error", message: "Error: Invalid QoS given: " + value };
        c.qos = +value;
        break;
      case "-i":
        if (value === "") return { kind: "error", message: "Error: Invalid id." };
        c.clientId = value;
        break;
      case "-I":
        c.idPrefix = value;
        break;
      case "-u":
        c.username = value;
        break;
      case "-P":
        c.password = value;
        break;
      case "-k":
        // mosquitto's clients refuse keepalives under 5 seconds; so do we.
        if (!isPlainInteger(value) || +value < 5 || +value > 65535) {
          return { kind: "error", message: "Error: Invalid keepalive given, it must be between 5 and 65535 inclusive." };
        }
        c.keepalive = +value;
        break;
      case "-c":
        c.clean = false;
        break;
      case "-d":
        c.debug = true;
        break;
      case "--quiet":
        c.quiet = true;
        break;
      case "-V":
        if (value === "31" || value === "mqttv31") c.protocolVersion = 3;
        else if (value === "311" || value === "mqttv311") c.protocolVersion = 4;
        else if (value === "5" || value === "mqttv5") return { kind: "error", message: "Error: MQTT v5 is not supported; use mqttv311 or mqttv31." };
        else return { kind: "error", message: "Error: Invalid protocol version argument given." };
        break;
      case "-L": {
        const error = applyUrl(value, c, topics);
        if (error) return { kind: "error", message: error };
        break;
      }
      case "--will-topic":
        willTopic = value;
        break;
      case "--will-payload":
        willPayload = value;
        break;
      case "--will-qos":
        if (value !== "0" && value !== "1" && value !== "2") return { kind: "error", message: "Error: Invalid will QoS " + value + "." };
        willQos = +value;
        break;
      case "--will-retain":
        willRetain = true;
        break;
      case "--cafile":
        c.tlsFiles.cafile = value;
        c.tls = true;
        break;
      case "--cert":
        c.tlsFiles.cert = value;
        break;
      case "--key":
        c.tlsFiles.key = value;
        break;
      case "--insecure":
        c.tlsFiles.insecure = true;
        break;
      // pub
      case "-m":
        sources.push("message");
        message = value;
        break;
      case "-f":
        sources.push("file");
        file = value;
        break;
      case "-l":
        sources.push("lines");
        break;
      case "-n":
        sources.push("null");
        break;
      case "-s":
        sources.push("stdin");
        break;
      case "-r":
        retain = true;
        break;
      // sub
      case "-v":
        verbose = true;
        break;
      case "-C":
        if (!isPlainInteger(value) || +value < 1) return { kind: "error", message: "Error: Invalid message count \"" + value + "\"." };
        count = +value;
        break;
      case "-W":
        if (!isPlainInteger(value) || +value < 1 || +value > 3600) return { kind: "error", message: "Error: Invalid timeout \"" + value + "\"." };
        timeoutSec = +value;
        break;
      case "-N":
        eol = false;
        break;
      case "-R":
        noRetained = true;
        break;
      case "-E":
        exitAfterSubscribe = true;
        break;
    }
  }

  // Checks that need every flag, in the order mosquitto's clients make them.
  if (c.clientId !== undefined && c.idPrefix !== undefined) {
    return { kind: "error", message: "Error: -i and -I argument cannot be used together." };
  }
  if (c.idPrefix !== undefined) c.clientId = c.idPrefix + pid;
  if (!c.clean && c.clientId === undefined) {
    return { kind: "error", message: "Error: You must provide a client id if you are using the -c option." };
  }
  if (c.password !== undefined && c.username === undefined) {
    return { kind: "error", message: "Error: Problem setting username and/or password." };
  }
  if (willTopic === undefined) {
    if (willPayload !== undefined) return { kind: "error", message: "Error: Will payload given, but no will topic given." };
    if (willRetain) return { kind: "error", message: "Error: Will retain given, but no will topic given." };
  } else {
    if (validateTopicName(willTopic) < 0) {
      return { kind: "error", message: "Error: Invalid will topic '" + willTopic + "', does it contain '+' or '#'?" };
    }
    c.will = { topic: willTopic, payload: willPayload === undefined ? "" : willPayload, qos: willQos, retain: willRetain };
  }
  if ((c.tlsFiles.cert === undefined) !== (c.tlsFiles.key === undefined)) {
    return { kind: "error", message: "Error: Both certfile and keyfile must be provided if one of them is set." };
  }
  if (c.tlsFiles.cert !== undefined) c.tls = true;

  if (command === "pub") {
    if (sources.length > 1) return { kind: "error", message: "Error: Only one type of message can be sent at once." };
    if (topics.length === 0 || sources.length === 0) return { kind: "error", message: "Error: Both topic and message must be supplied." };
    const topic = topics[topics.length - 1];
    if (validateTopicName(topic) < 0) {
      return { kind: "error", message: "Error: Invalid publish topic '" + topic + "', does it contain '+' or '#'?" };
    }
    return {
      kind: "run",
      config: {
        ...c,
        command: "pub",
        topic: topics[topics.length - 1],
        source: sources[0],
        message,
        file,
        retain,
      },
    };
  }

  if (topics.length === 0) return { kind: "error", message: "Error: You must specify a topic to subscribe to." };
  for (let i = 0; i < topics.length; i++) {
    if (validateTopicFilter(topics[i]) < 0) {
      return { kind: "error", message: "Error: Invalid subscription topic '" + topics[i] + "', are all '+' and '#' wildcards correct?" };
    }
  }
  for (let i = 0; i < filterOut.length; i++) {
    if (validateTopicFilter(filterOut[i]) < 0) {
      return { kind: "error", message: "Error: Invalid filter topic '" + filterOut[i] + "', are all '+' and '#' wildcards correct?" };
    }
  }
  return {
    kind: "run",
    config: {
      ...c,
      command: "sub",
      topics,
      filterOut,
      verbose,
      count,
      timeoutSec,
      eol,
      noRetained,
      exitAfterSubscribe,
    },
  };
}

/** The port to connect to: the one given, or 1883 / 8883 with TLS. */
export function effectivePort(c: CommonConfig): number {
  if (c.port > 0) return c.port;
  return c.tls ? 8883 : 1883;
}
