// A telemetry node for boards with little memory (a stock ESP32 build of Espruino), with
// mcu-mqtt's QoS 0-only client.
//
// It joins Wi-Fi and every `periodS` seconds publishes a JSON reading on
// <prefix>/<clientId>/telemetry at QoS 0. When connected it announces "online" (retained) on
// <prefix>/<clientId>/status; its will, "offline" (retained), is published by the broker when the
// node vanishes. QoS 0 keeps nothing: a reading taken while offline is dropped and counted.
//
// Put the QoS 0 build into the board's Storage as "mcu-mqtt-qos0" and upload this file in one
// command:  npx mcu-mqtt-espruino --qos0 --name mcu-mqtt-qos0 --board ESP8266_4MB -p /dev/ttyUSB0 boards/espruino/example-qos0.js
// (or, in the Espruino IDE, upload dist/espruino/mcu-mqtt-qos0.js to Storage under that name).
//
// Plain Espruino JavaScript: no destructuring, default parameters or spread, and every function
// is defined before the code that calls it (Espruino hoists nothing).

// Settings. The simulator (and the tests) override them with a global CONFIG.
var defaults = {
  ssid: "my-network",
  password: "my-password",
  host: "192.168.1.10",
  port: 1883,
  prefix: "sensors",
  clientId: "esp32-1",
  periodS: 10,
  keepaliveS: 30
};
var settings = Object.assign({}, defaults, typeof CONFIG === "object" && CONFIG ? CONFIG : {});

var mqtt = require("mcu-mqtt-qos0");
var statusTopic = settings.prefix + "/" + settings.clientId + "/status";
var telemetryTopic = settings.prefix + "/" + settings.clientId + "/telemetry";
var client = null;
var seq = 0;
var dropped = 0;
var ticker;
var startS = getTime();

// Espruino has no calibrated temperature sensor on these chips (E.getTemperature() is NaN on the
// ESP8266, a raw value on the ESP32): a value in range is used, marked "chip", else a simulated
// reading marked as such. Wire a real sensor (DS18B20, BME280...) for real data.
function readTemperature() {
  var t = typeof E.getTemperature === "function" ? E.getTemperature() : NaN;
  if (isFinite(t) && t > -40 && t < 125) return { tempC: Math.round(t * 10) / 10, source: "chip" };
  return { tempC: Math.round((22 + 2 * Math.sin(getTime() / 600)) * 10) / 10, source: "simulated" };
}

function publishReading() {
  seq++;
  var t = readTemperature();
  var reading = JSON.stringify({ seq: seq, tempC: t.tempC, source: t.source, uptimeS: Math.floor(getTime() - startS), dropped: dropped });
  // The callback hears whether the reading was taken: while offline it is refused (not kept).
  client.publish(telemetryTopic, reading, function (err) {
    if (err) dropped++;
  });
}

function startMqtt() {
  client = mqtt.connect({
    host: settings.host,
    port: settings.port,
    clientId: settings.clientId,
    keepalive: settings.keepaliveS,
    will: { topic: statusTopic, payload: "offline", retain: true }
  });
  // After a loss the Wi-Fi station joins again by itself; the client reconnects (with backoff)
  // once the network is back.
  client.on("connect", function () {
    console.log("connected to " + settings.host + ":" + settings.port);
    client.publish(statusTopic, "online", { retain: true });
  });
  // Errors carry a numeric code ("mcu-mqtt -30": connection lost; see src/status.ts).
  client.on("error", function (err) {
    console.log("mqtt: " + err.message);
  });
  if (ticker !== undefined) clearInterval(ticker); // a handle, never undefined: clearInterval() clears every timer
  ticker = setInterval(publishReading, settings.periodS * 1000);
}

function onInit() {
  console.log("joining " + settings.ssid);
  mqtt.joinWifi({ ssid: settings.ssid, password: settings.password }, function (err) {
    if (err) {
      console.log("Wi-Fi: " + err);
      return;
    }
    console.log("Wi-Fi joined");
    if (!client) startMqtt();
  });
}

// Runs now; after save(), Espruino calls onInit() again at boot.
onInit();
