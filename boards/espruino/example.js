// A telemetry node on an ESP32 running Espruino, with mcu-mqtt.
//
// It joins Wi-Fi and every `periodS` seconds publishes a JSON reading on
// <prefix>/<clientId>/telemetry at QoS 1. When connected it announces "online" (retained) on
// <prefix>/<clientId>/status; its will, "offline" (retained) on the same topic, is published by
// the broker when the node vanishes. Readings taken while offline wait in the client's outbox.
//
// Put mcu-mqtt into the board's Storage and upload this file in one command (the module's code then
// stays in flash):  npx mcu-mqtt-espruino --board ESP32 -p /dev/ttyUSB0 boards/espruino/example.js
// (or, in the Espruino IDE, upload dist/espruino/mcu-mqtt.js to Storage as "mcu-mqtt" first).
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

var mqtt = require("mcu-mqtt");
var statusTopic = settings.prefix + "/" + settings.clientId + "/status";
var telemetryTopic = settings.prefix + "/" + settings.clientId + "/telemetry";
var wifiSettings = { ssid: settings.ssid, password: settings.password };
var client = null;
var seq = 0;
var ticker;
var startS = getTime();

// Espruino has no calibrated temperature sensor on the ESP32: E.getTemperature() returns the raw
// output of an undocumented ESP-IDF call there (Espruino's own source says "Unsure of values
// returned") and NaN on the ESP8266. A value in the sensor's range is used when there is one,
// marked "chip"; otherwise a simulated reading, marked "simulated". Wire a real sensor (DS18B20,
// BME280...) for real data.
function readTemperature() {
  var t = typeof E.getTemperature === "function" ? E.getTemperature() : NaN;
  if (isFinite(t) && t > -40 && t < 125) return { tempC: Math.round(t * 10) / 10, source: "chip" };
  return { tempC: Math.round((22 + 2 * Math.sin(getTime() / 600)) * 10) / 10, source: "simulated" };
}

function publishReading() {
  seq++;
  var t = readTemperature();
  var reading = JSON.stringify({ seq: seq, tempC: t.tempC, source: t.source, uptimeS: Math.floor(getTime() - startS) });
  client.publish(telemetryTopic, reading, { qos: 1 }, function (err) {
    if (err) console.log("reading " + seq + " not delivered: " + err.message);
  });
}

function startMqtt() {
  client = mqtt.connect({
    host: settings.host,
    port: settings.port,
    clientId: settings.clientId,
    keepalive: settings.keepaliveS,
    will: { topic: statusTopic, payload: "offline", qos: 1, retain: true }
  });
  // After a loss the Wi-Fi station joins again by itself; the client reconnects (with backoff)
  // once the network is back.
  client.on("connect", function () {
    console.log("connected to " + settings.host + ":" + settings.port);
    client.publish(statusTopic, "online", { qos: 1, retain: true });
  });
  client.on("offline", function () {
    console.log("offline");
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
  mqtt.joinWifi(wifiSettings, function (err) {
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
