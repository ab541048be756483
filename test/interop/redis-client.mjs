// Reads the events a Switchyard Redis engine wrote and writes one of its
// own, with ioredis and the CloudEvents JavaScript SDK. docs/interop.md
// shows it; engines/redis's TestInteropNodeClient runs it.
//
// usage: node redis-client.mjs REDIS_URL WRITE_STREAM READ_STREAM...
// prints each event read as one line of CloudEvents JSON.
import Redis from "ioredis";
import { CloudEvent } from "cloudevents";

const [url, writeStream, ...readStreams] = process.argv.slice(2);
const redis = new Redis(url);

// Read: each field of an entry is a CloudEvents attribute named as in the
// specification; the field "data" holds the data.
for (const stream of readStreams) {
  for (const [, flat] of await redis.xrange(stream, "-", "+")) {
    const { data, ...attributes } = Object.fromEntries(
      Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i], flat[2 * i + 1]]));
    const json = (attributes.datacontenttype ?? "application/json").includes("json");
    // The SDK validates the attributes and extension names here.
    const event = new CloudEvent({ ...attributes, data: json && data !== undefined ? JSON.parse(data) : data });
    console.log(JSON.stringify(event));
  }
}

// Write: the same layout, one field per attribute and the data in "data".
const order = new CloudEvent({
  type: "com.example.order.placed",
  source: "/js-shop",
  subject: "orders/44",
  datacontenttype: "application/json",
  data: { order: 44, note: "naïve ☕" },
  comexampletenant: "acme",
});
const { data, data_base64, ...attributes } = order.toJSON(); // data_base64: only for binary data
await redis.xadd(writeStream, "*", ...Object.entries(attributes).flat(), "data", JSON.stringify(data));
await redis.quit();
