/**
 * The chat in a terminal: stdin lines in, the room out.
 *
 *   node --import tsx examples/chat/chat.ts --nick alice [--broker mqtt://127.0.0.1:1883]
 *
 * The chat itself is in room.ts, which does not depend on Node; this file only connects the
 * Node board, feeds it stdin and prints to stdout. End of input leaves the room like `/quit`.
 */
import { createInterface } from "node:readline";
import { connect } from "../../boards/node/index.ts";
import { chatWill, nickError, startChat } from "./room.ts";

function usage(message: string): never {
  process.stderr.write(message + "\nusage: chat.ts --nick <nick> [--broker mqtt://host:port]\n");
  process.exit(1);
}

let nick = "";
let broker = "mqtt://127.0.0.1:1883";
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const arg = argv[i];
  if ((arg === "--nick" || arg === "--broker") && i + 1 >= argv.length) usage(arg + " needs a value");
  if (arg === "--nick") nick = argv[++i];
  else if (arg === "--broker") broker = argv[++i];
  else if (arg === "--help") usage("a chat on chat/public and chat/private/<nick>");
  else usage("unknown argument " + arg);
}
const problem = nickError(nick);
if (problem) usage(problem);

let connected = false;
let client;
try {
  client = connect(broker, {
    // One session per nick; a second window with the same nick takes the first one over.
    clientId: "chat-" + nick,
    will: chatWill(nick),
    keepalive: 30,
  });
} catch (e) {
  usage(e instanceof Error ? e.message : String(e));
}

const chat = startChat(
  client,
  nick,
  (line) => process.stdout.write(line + "\n"),
  () => process.exit(0),
);

client.on("connect", () => {
  connected = true;
});
client.on("error", (err: Error & { returnCode?: number }) => {
  process.stderr.write("! " + err.message + "\n");
  // Nothing to wait for if the broker cannot be reached or refuses us.
  if (!connected || err.returnCode !== undefined) process.exit(1);
});
client.on("offline", () => process.stdout.write("! connection lost; reconnecting\n"));

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on("line", (line) => chat.input(line));
lines.on("close", () => {
  if (!chat.left()) chat.input("/quit");
});
