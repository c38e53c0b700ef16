// The session event stream's fast path (src/js/stream.js), in Node: what it returns for every way
// a response can arrive in pieces, and that it declines every shape it does not read itself (the
// Rust parser then takes over from the event it stopped at).
import assert from "node:assert/strict";
import { test } from "node:test";
import { joinEvents, sseBatch } from "../../src/js/stream.js";

const PADDING = `:${" ".repeat(2047)}\n\n`;

/** An event as realtime-server writes it: `id:` for messages, one `data:` line, a blank line. */
const event = (json, seq) => `${seq === undefined ? "" : `id: ${seq}\n`}data: ${json}\n\n`;

/** Frames of a few kinds and sizes, JSON text (newlines and CRs escaped, as JSON has them). */
const FRAMES = [
  '{"t":"o","sid":"s1","token":"k","ack":0,"hb":25000}',
  '{"t":"m","s":1,"d":"hello"}',
  '{"t":"e","s":2,"e":"burst","v":{"n":1,"pad":"xxxx"}}',
  '{"t":"h","ts":1700000000000,"s":2}',
  '{"t":"m","s":3,"d":"line\\nbreak\\r\\nand \\ud83d\\ude00 and \\ufffd"}',
  `{"t":"m","s":4,"d":"${"y".repeat(3000)}"}`,
  '{"t":"a","a":7}',
];

function stream() {
  let text = PADDING;
  FRAMES.forEach((json, i) => {
    const parsed = JSON.parse(json);
    text += event(json, parsed.t === "m" || parsed.t === "e" ? parsed.s : undefined);
    if (i === 3) text += ": a comment between events\n\n";
  });
  return text;
}

/** Feeds `text` as a response that grows at `cuts`; returns the frames read and where it stopped. */
function feed(text, cuts) {
  const frames = [];
  let from = 0;
  for (const end of [...cuts, text.length]) {
    const batch = sseBatch(text.slice(0, end), from);
    if (batch === undefined) return { frames, from, declined: true };
    const [events, next] = batch;
    assert.ok(next >= from && next <= end, `end ${next} outside ${from}..${end}`);
    const parsed = JSON.parse(joinEvents(events));
    assert.deepEqual(parsed, events.map((e) => JSON.parse(e)));
    frames.push(...parsed);
    from = next;
  }
  return { frames, from, declined: false };
}

const expected = FRAMES.map((f) => JSON.parse(f));

test("a whole response: every frame, in order, nothing left", () => {
  const text = stream();
  const { frames, from, declined } = feed(text, []);
  assert.equal(declined, false);
  assert.deepEqual(frames, expected);
  assert.equal(from, text.length);
});

test("cut at every position: the same frames, none twice, none lost", () => {
  const text = stream();
  for (let cut = 1; cut < text.length; cut += cut < 2100 ? 97 : 1) {
    const { frames, declined } = feed(text, [cut]);
    assert.equal(declined, false, `declined when cut at ${cut}`);
    assert.deepEqual(frames, expected, `cut at ${cut}`);
  }
});

test("arriving a few bytes at a time", () => {
  const text = stream();
  const cuts = [];
  for (let i = 7; i < text.length; i += 7) cuts.push(i);
  assert.deepEqual(feed(text, cuts).frames, expected);
});

test("a partial event is left for later", () => {
  const text = `${event('{"t":"m","s":1,"d":"a"}', 1)}id: 2\ndata: {"t":"m","s":2,"d":"b"}\n`;
  const [events, end] = sseBatch(text, 0);
  assert.deepEqual(events, ['{"t":"m","s":1,"d":"a"}']);
  assert.equal(text.slice(end), 'id: 2\ndata: {"t":"m","s":2,"d":"b"}\n');
});

test("nothing complete yet: no frames, nothing consumed", () => {
  assert.deepEqual(sseBatch("data: {", 0), [[], 0]);
  assert.deepEqual(sseBatch("", 0), [[], 0]);
  const text = event("{}");
  assert.deepEqual(sseBatch(text, text.length), [[], text.length]);
});

test("data without the space after the colon, and blank lines between events", () => {
  const text = 'data:{"t":"a","a":1}\n\n\n\ndata: {"t":"a","a":2}\n\n';
  const [events, end] = sseBatch(text, 0);
  assert.deepEqual(JSON.parse(joinEvents(events)), [{ t: "a", a: 1 }, { t: "a", a: 2 }]);
  assert.equal(end, text.length);
});

test("shapes it does not read are declined, at the event where they start", () => {
  const good = event('{"t":"m","s":1,"d":"a"}', 1);
  const others = {
    "CR LF line ends": 'data: {"t":"a","a":1}\r\n\r\n',
    "CR line ends": 'data: {"t":"a","a":1}\r\r',
    "a CR in a partial event": "data: {\r",
    "an event type": 'event: burst\ndata: {"t":"a","a":1}\n\n',
    "a retry field": 'retry: 1000\ndata: {"t":"a","a":1}\n\n',
    "data over two lines": "data: [1,\ndata: 2]\n\n",
    "a comment after the data": 'data: {"t":"a","a":1}\n:later\n\n',
    "a field without a colon": 'data\ndata: {"t":"a","a":1}\n\n',
    "a byte order mark, or an unknown field": '\uFEFFdata: {"t":"a","a":1}\n\n',
  };
  for (const [what, other] of Object.entries(others)) {
    const text = good + other + good;
    // Alone, from its own start: declined.
    assert.equal(sseBatch(text, good.length), undefined, what);
    // The events before it are read first when they arrive first.
    const [events, end] = sseBatch(good, 0);
    assert.equal(events.length, 1, what);
    assert.equal(sseBatch(text, end), undefined, what);
  }
});

test("a stream that turns to CR LF midway is handed over where the change starts", () => {
  const plain = PADDING + event('{"t":"o","sid":"s","token":"k","ack":0,"hb":1}');
  const crlf = event('{"t":"m","s":1,"d":"a"}', 1).replaceAll("\n", "\r\n");
  const [events, end] = sseBatch(plain, 0);
  assert.equal(events.length, 1);
  assert.equal(end, plain.length);
  // The CR LF events never show a "\n\n": without looking for CR the stream would stall here.
  assert.equal(sseBatch(plain + crlf, end), undefined);
  assert.equal(sseBatch(plain + crlf.slice(0, 10), end), undefined);
});

test("data that is not one JSON value is passed on as it is (the client counts and rejects it)", () => {
  const text = "data: 1,2\n\n";
  const [events] = sseBatch(text, 0);
  assert.deepEqual(events, ["1,2"]);
  assert.equal(JSON.parse(joinEvents(events)).length, 2);
});

test("a batch with a bad event still lists every event's data, the good ones parse alone", () => {
  const text = `${event('{"t":"m","s":1,"d":"a"}', 1)}data: not json\n\n${event('{"t":"m","s":2,"d":"b"}', 2)}`;
  const [events] = sseBatch(text, 0);
  assert.throws(() => JSON.parse(joinEvents(events)));
  assert.deepEqual(events, ['{"t":"m","s":1,"d":"a"}', "not json", '{"t":"m","s":2,"d":"b"}']);
});
