// A telemetry node on a Raspberry Pi Pico W running Kaluma 1.2.x, with mcu-mqtt.
//
// It joins Wi-Fi, reads the RP2040's internal temperature sensor, and every `periodS` seconds
// publishes a JSON reading on <prefix>/<clientId>/telemetry at QoS 1. When connected it announces
// "online" (retained) on <prefix>/<clientId>/status; its will, "offline" (retained) on the same
// topic, is published by the broker when the node vanishes. The on-board LED is lit while connected.
// Readings taken while offline wait in the client's outbox and go out after the reconnection.
//
// Flash it with the Kaluma CLI, which bundles mcu-mqtt from node_modules into the one script the
// board runs (see the README for the command your CLI version has).

// Settings. The simulator (and the tests) override them with a global CONFIG.
const defaults = {
  ssid: "my-network",
  password: "my-password",
  host: "192.168.1.10",
  port: 1883,
  prefix: "sensors",
  clientId: "pico-w-1",
  periodS: 10,
  keepaliveS: 30,
};
const settings = Object.assign({}, defaults, typeof CONFIG === "object" && CONFIG ? CONFIG : {});

const mqtt = require("mcu-mqtt");
const { PicoCYW43 } = require("pico_cyw43");

const cyw43 = new PicoCYW43(); // the LED hangs off the Wi-Fi chip: its GPIO 0
const statusTopic = settings.prefix + "/" + settings.clientId + "/status";
const telemetryTopic = settings.prefix + "/" + settings.clientId + "/telemetry";
const wifiSettings = { ssid: settings.ssid, password: settings.password };

// The RP2040's temperature sensor is ADC input 4, which Kaluma reads as pin 30. analogRead gives
// a fraction of 3.3 V; the datasheet's formula turns the voltage into degrees Celsius.
const TEMPERATURE_PIN = 30;
function readTemperatureC() {
  const volts = analogRead(TEMPERATURE_PIN) * 3.3;
  return 27 - (volts - 0.706) / 0.001721;
}

let client = null;
let seq = 0;

function publishReading() {
  seq++;
  let tempC = null;
  try {
    tempC = Math.round(readTemperatureC() * 10) / 10;
  } catch (e) {
    // Kaluma before 1.2 has no ADC input 4 (pins 26-29 only).
  }
  const reading = JSON.stringify({ seq: seq, tempC: tempC, uptimeS: Math.floor(millis() / 1000) });
  client.publish(telemetryTopic, reading, { qos: 1 }, function (err) {
    if (err) console.log("reading " + seq + " not delivered: " + err.message);
  });
}

function start() {
  client = mqtt.connect({
    host: settings.host,
    port: settings.port,
    clientId: settings.clientId,
    keepalive: settings.keepaliveS,
    will: { topic: statusTopic, payload: "offline", qos: 1, retain: true },
    // Kaluma tells nobody when Wi-Fi is lost: after a failed connection the link is checked
    // and joined again.
    wifi: wifiSettings,
  });
  client.on("connect", function () {
    console.log("connected to " + settings.host + ":" + settings.port);
    cyw43.putGpio(0, true);
    client.publish(statusTopic, "online", { qos: 1, retain: true });
  });
  client.on("offline", function () {
    console.log("offline");
    cyw43.putGpio(0, false);
  });
  client.on("error", function (err) {
    console.log("mqtt: " + err.message);
  });
  // A Kaluma timer whose callback throws is cancelled for good: keep the tick from throwing.
  setInterval(function () {
    try {
      publishReading();
    } catch (e) {
      console.log("telemetry: " + e.message);
    }
  }, settings.periodS * 1000);
}

console.log("joining " + settings.ssid);
// Blocks up to 30 s on the board.
mqtt.joinWifi(wifiSettings, function (err) {
  if (err) console.log(err.message + " (trying again after the first failed connection)");
  start();
});
