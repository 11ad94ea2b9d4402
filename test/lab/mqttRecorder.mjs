// Runs inside a lab namespace: subscribes to topics on a broker reachable only there and
// prints one JSON line per message, stamped with the wall clock at receipt, so the test can
// time alarms against events it caused (a loop closed) from outside the namespace.
// Usage: node mqttRecorder.mjs URL TOPIC...
import mqtt from 'mqtt';

const [url, ...topics] = process.argv.slice(2);
if (!url || topics.length === 0) {
  process.stderr.write('usage: mqttRecorder.mjs URL TOPIC...\n');
  process.exit(2);
}
// The broker may still be starting: reconnect quickly until it answers.
const client = mqtt.connect(url, { clientId: `lab-recorder-${process.pid}`, reconnectPeriod: 100, connectTimeout: 2000 });
client.on('connect', () => {
  client.subscribe(topics, { qos: 1 }, (err) => {
    if (err) process.stderr.write(`subscribe failed: ${err.message}\n`);
    else process.stdout.write(`${JSON.stringify({ ready: true, at: Date.now() })}\n`);
  });
});
client.on('message', (topic, payload, packet) => {
  process.stdout.write(`${JSON.stringify({ at: Date.now(), topic, payload: payload.toString('utf8'), retain: packet.retain })}\n`);
});
client.on('error', (err) => process.stderr.write(`mqtt: ${err.message}\n`));
process.stdin.on('end', () => client.end(true, () => process.exit(0)));
process.stdin.resume();
