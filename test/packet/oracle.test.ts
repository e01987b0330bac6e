/**
 * The hand-written vectors checked against an independent implementation: mqtt-packet's
 * generator must produce exactly the same bytes from the same fields. This guards the table
 * itself (a wrong hand-computed byte would otherwise be "confirmed" by our own encoder).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { generate, type Packet as MqttPacket, type QoS } from "mqtt-packet";
import type { Packet } from "../../src/packet/types.ts";
import { validVectors } from "../vectors/packets.ts";
import { asBytes } from "./helpers.ts";

const ACK_NAMES: Record<number, "puback" | "pubrec" | "pubrel" | "pubcomp" | "unsuback"> = {
  4: "puback",
  5: "pubrec",
  6: "pubrel",
  7: "pubcomp",
  11: "unsuback",
};

function toMqttPacket(p: Packet): MqttPacket {
  switch (p.type) {
    case 1: {
      const o: MqttPacket = {
        cmd: "connect",
        protocolId: p.protocolVersion === 3 ? "MQIsdp" : "MQTT",
        protocolVersion: p.protocolVersion as 3 | 4,
        clientId: p.clientId,
        clean: p.clean,
        keepalive: p.keepalive,
      };
      if (p.will) {
        o.will = {
          topic: p.will.topic,
          payload: Buffer.from(asBytes(p.will.payload)),
          qos: p.will.qos as QoS,
          retain: p.will.retain,
        };
      }
      if (p.username !== undefined) o.username = p.username;
      if (p.password !== undefined) o.password = Buffer.from(asBytes(p.password));
      return o;
    }
    case 2:
      return { cmd: "connack", sessionPresent: p.sessionPresent, returnCode: p.returnCode };
    case 3:
      return {
        cmd: "publish",
        topic: p.topic,
        payload: Buffer.from(asBytes(p.payload)),
        qos: p.qos as QoS,
        retain: p.retain,
        dup: p.dup,
        messageId: p.qos > 0 ? p.packetId : undefined,
      };
    case 4:
    case 5:
    case 6:
    case 7:
    case 11:
      return { cmd: ACK_NAMES[p.type], messageId: p.packetId } as MqttPacket;
    case 8:
      return {
        cmd: "subscribe",
        messageId: p.packetId,
        subscriptions: p.subscriptions.map((s) => ({ topic: s.topic, qos: s.qos as QoS })),
      };
    case 9:
      return { cmd: "suback", messageId: p.packetId, granted: p.granted };
    case 10:
      return { cmd: "unsubscribe", messageId: p.packetId, unsubscriptions: p.topics };
    case 12:
      return { cmd: "pingreq" };
    case 13:
      return { cmd: "pingresp" };
    case 14:
      return { cmd: "disconnect" };
  }
  throw new Error("no such packet type");
}

test("every valid vector's bytes are what mqtt-packet generates from its fields", () => {
  for (const v of validVectors) {
    const generated = generate(toMqttPacket(v.packet));
    assert.deepEqual(Array.from(generated), v.bytes, v.name);
  }
});
