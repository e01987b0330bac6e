/**
 * The shared broker behaviour (broker-suite.ts) against aedes, in this process. Always runs.
 * aedes refuses through its hooks: `authorizeSubscribe` answering no subscription gives SUBACK
 * 0x80, and `authenticate` failing with returnCode 4 gives CONNACK 4.
 */
import { startAedes } from "../helpers/brokers.ts";
import { brokerSuite } from "./broker-suite.ts";

brokerSuite({
  name: "aedes",
  available: () => true,
  installed: () => true,
  start: () => startAedes(),
  startDenying: () =>
    startAedes({
      authorizeSubscribe(_client, sub, callback) {
        if (sub.topic.startsWith("denied/")) callback(null, null);
        else callback(null, sub);
      },
    }),
  startWithPassword: (user, password) =>
    startAedes({
      authenticate(_client, username, pass, callback) {
        if (username === user && pass !== undefined && pass.toString() === password) {
          callback(null, true);
          return;
        }
        const err = new Error("bad user name or password") as Error & { returnCode: number };
        err.returnCode = 4;
        callback(err, false);
      },
    }),
  badPasswordCode: 4,
});
