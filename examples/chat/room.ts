/**
 * A chat over MQTT, runtime-neutral: it needs an mcu-mqtt client and a way to write a line, and
 * nothing of Node, so a board's serial console can drive it as well as a terminal.
 *
 * - Everyone subscribes to `chat/public` and to `chat/private/<own nick>`.
 * - Joining announces "* <nick> joined" in the room.
 * - A line goes to the room as "<nick>: <text>".
 * - `/priv <nick> <text>` sends "<nick>: <text>" to `chat/private/<nick>` only.
 * - `/quit <reason>` announces "* <nick> left (<reason>)" and disconnects cleanly.
 * - The will, registered with CONNECT (see `chatWill`), announces "* <nick> left unexpectedly"
 *   when the connection dies without a goodbye.
 *
 * Payloads are plain UTF-8 lines, so `mosquitto_sub -t 'chat/#' -v` shows the conversation too.
 * Written for the board engines: no regular expressions, no for-of, no Node globals.
 */
import type { WillMessage } from "../../src/packet/types.ts";
import { decodeUtf8 } from "../../src/utf8.ts";

export const PUBLIC_TOPIC = "chat/public";
export const PRIVATE_PREFIX = "chat/private/";
/** Chat messages are sent at QoS 1: at least once, in order. */
export const CHAT_QOS = 1;
const MAX_NICK = 32;

export function privateTopic(nick: string): string {
  return PRIVATE_PREFIX + nick;
}

/** Why `nick` cannot be used ("" when it can): it becomes a topic level, so no / + # or spaces. */
export function nickError(nick: string): string {
  if (nick.length === 0) return "a nickname is needed";
  if (nick.length > MAX_NICK) return "a nickname has at most " + MAX_NICK + " characters";
  for (let i = 0; i < nick.length; i++) {
    const ch = nick.charAt(i);
    if (ch === "/" || ch === "+" || ch === "#" || ch === " " || ch === "\t" || nick.charCodeAt(i) < 32) {
      return "a nickname cannot contain '" + (ch === " " ? "space" : ch === "\t" ? "tab" : ch) + "'";
    }
  }
  return "";
}

/** The will to pass in the client options, so the room hears of an unexpected leave. */
export function chatWill(nick: string): WillMessage {
  return { topic: PUBLIC_TOPIC, payload: "* " + nick + " left unexpectedly", qos: CHAT_QOS, retain: false };
}

/** What the chat uses of a client; mcu-mqtt's `Client` has all of it. */
export interface ChatClient {
  publish(topic: string, payload: string, options: { qos: number }, callback?: (err: Error | null) => void): unknown;
  subscribe(filters: string[], options: { qos: number }, callback?: (err: Error | null, granted: { qos: number }[]) => void): unknown;
  on(event: "message", listener: (topic: string, payload: Uint8Array) => void): unknown;
  on(event: "end", listener: () => void): unknown;
  end(force?: boolean, callback?: () => void): unknown;
}

export interface Chat {
  /** One line typed by the user (a trailing "\r" is ignored). */
  input(line: string): void;
  /** True once /quit was typed or the client ended. */
  left(): boolean;
}

export const HELP_LINE = "commands: /priv <nick> <text>, /quit [reason]; other lines go to the room";

/**
 * Joins the room as `nick` on `client` (created with `chatWill(nick)` as its will) and shows
 * everything through `write`, one line per call. `onLeave` runs once the client has ended.
 * Lines typed before the subscription is acknowledged wait, so they follow the announcement.
 */
export function startChat(client: ChatClient, nick: string, write: (line: string) => void, onLeave?: () => void): Chat {
  const myPrivate = privateTopic(nick);
  let joined = false;
  let leaving = false;
  let ended = false;
  const waiting: string[] = [];

  function send(topic: string, text: string, then?: () => void): void {
    client.publish(topic, text, { qos: CHAT_QOS }, function (err) {
      if (err && !ended) write("! not delivered: " + err.message);
      if (then) then();
    });
  }

  function handle(line: string): void {
    if (line.charAt(0) !== "/") {
      send(PUBLIC_TOPIC, nick + ": " + line);
      return;
    }
    const space = line.indexOf(" ");
    const command = space < 0 ? line : line.slice(0, space);
    const rest = space < 0 ? "" : trim(line.slice(space + 1));
    if (command === "/priv") {
      const gap = rest.indexOf(" ");
      const to = gap < 0 ? rest : rest.slice(0, gap);
      const text = gap < 0 ? "" : trim(rest.slice(gap + 1));
      const problem = nickError(to);
      if (problem || !text) {
        write("! usage: /priv <nick> <text>" + (to && problem ? " (" + problem + ")" : ""));
        return;
      }
      send(privateTopic(to), nick + ": " + text);
      write("(to " + to + ") " + text);
    } else if (command === "/quit") {
      leaving = true;
      send(PUBLIC_TOPIC, "* " + nick + " left" + (rest ? " (" + rest + ")" : ""), function () {
        client.end();
      });
    } else if (command === "/help") {
      write(HELP_LINE);
    } else {
      write("! unknown command " + command + "; " + HELP_LINE);
    }
  }

  client.on("message", function (topic: string, payload: Uint8Array) {
    const text = decodeUtf8(payload, 0, payload.length);
    if (topic === PUBLIC_TOPIC) write(text);
    else if (topic === myPrivate) write("(private) " + text);
  });
  client.on("end", function () {
    if (ended) return;
    ended = true;
    leaving = true;
    if (onLeave) onLeave();
  });
  client.subscribe([PUBLIC_TOPIC, myPrivate], { qos: CHAT_QOS }, function (err) {
    if (err) {
      if (!ended) write("! cannot join: " + err.message);
      return;
    }
    joined = true;
    write("joined " + PUBLIC_TOPIC + " as " + nick + "; " + HELP_LINE);
    send(PUBLIC_TOPIC, "* " + nick + " joined");
    for (let i = 0; i < waiting.length && !leaving; i++) handle(waiting[i]);
    waiting.length = 0;
  });

  return {
    input: function (raw: string): void {
      let line = raw;
      if (line.length > 0 && line.charAt(line.length - 1) === "\r") line = line.slice(0, line.length - 1);
      if (leaving || trim(line) === "") return;
      if (joined) handle(line);
      else waiting.push(line);
    },
    left: function (): boolean {
      return leaving;
    },
  };
}

function isBlank(ch: string): boolean {
  return ch === " " || ch === "\t";
}

function trim(text: string): string {
  let a = 0;
  let b = text.length;
  while (a < b && isBlank(text.charAt(a))) a++;
  while (b > a && isBlank(text.charAt(b - 1))) b--;
  return text.slice(a, b);
}
