// Reads the records a Switchyard Kafka engine wrote and writes two events
// of its own (structured and binary content mode), with kafkajs and the
// CloudEvents JavaScript SDK's Kafka binding. engines/kafka's
// TestInteropNodeClient runs it.
//
// usage: node kafka-client.mjs BROKERS WRITE_TOPIC READ_TOPIC...
// prints each event read as one line of CloudEvents JSON.
import { Kafka as KafkaJS, logLevel } from "kafkajs";
import { CloudEvent, Kafka } from "cloudevents";

const [brokers, writeTopic, ...readTopics] = process.argv.slice(2);
const kafka = new KafkaJS({ clientId: "js-client", brokers: brokers.split(","), logLevel: logLevel.ERROR });

// Write: Kafka.structured and Kafka.binary give the value and headers.
const producer = kafka.producer();
await producer.connect();
const order = (id, mode) => new CloudEvent({
  id, type: "com.example.order.placed", source: "/js-shop", subject: `orders/${mode}`,
  datacontenttype: "application/json", data: { order: 44, mode }, comexampletenant: "acme",
});
const toRecord = ({ key, value, headers }) => ({
  key: key ?? null,
  value: typeof value === "string" || Buffer.isBuffer(value) ? value : JSON.stringify(value),
  headers: Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)])),
});
await producer.send({ topic: writeTopic, messages: [
  toRecord(Kafka.structured(order("js-1", "structured"))),
  toRecord(Kafka.binary(order("js-2", "binary"))),
] });
await producer.disconnect();

// Read: Kafka.toEvent tells the content mode by the content-type header.
let left = readTopics.length;
const consumer = kafka.consumer({ groupId: `js-reader-${process.pid}` });
await consumer.connect();
await consumer.subscribe({ topics: readTopics, fromBeginning: true });
await new Promise((done, fail) => {
  const timer = setTimeout(() => fail(new Error(`timed out; ${left} topics not read`)), 30000);
  consumer.run({
    eachMessage: async ({ message }) => {
      const headers = Object.fromEntries(Object.entries(message.headers).map(([k, v]) => [k, v.toString()]));
      const event = Kafka.toEvent({ key: message.key?.toString(), value: message.value, headers });
      event.validate();
      console.log(JSON.stringify(event));
      if (--left === 0) { clearTimeout(timer); done(); }
    },
  });
});
await consumer.disconnect();
