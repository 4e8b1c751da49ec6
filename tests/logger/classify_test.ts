import assert from "node:assert/strict";
import {
  agentSummary,
  classify,
  type LogMessage,
  pageName,
  ruleFor,
} from "../../src/logger/classify.ts";
import { encodeLogMessage } from "../../src/logger/encode.ts";
import { decodeLogMessage } from "../../src/logger/decode.ts";
import {
  decodeMessage,
  encodeMessage,
  lumberjackProtocol,
  ProtocolError,
} from "../../src/protocols/mod.ts";
import { encodeCbor } from "../../src/protocols/cbor.ts";
import { compileFormat } from "../../src/logger/format.ts";
import { CORPUS, MALFORMED, PIP_AGENT } from "./corpus.ts";

const combined = compileFormat("combined");

Deno.test("classifies every corpus line as expected", () => {
  for (const [line, expected] of CORPUS) {
    const entry = combined.parse(line);
    assert.deepEqual(entry === null, false, `did not parse: ${line}`);
    const msg = classify(entry!);
    assert.deepEqual(msg ? [msg.name, msg.data] : null, expected, line);
  }
});

Deno.test("rejects malformed lines without throwing", () => {
  for (const line of MALFORMED) assert.deepEqual(combined.parse(line), null, line);
});

Deno.test("the first matching rule wins", () => {
  assert.deepEqual(ruleFor(PIP_AGENT, "/simple/"), null);
  assert.deepEqual(ruleFor("pip/1", "/simple/x/x-1-py3-none-any.whl"), "LOGDOWNLOAD");
  assert.deepEqual(ruleFor("pip/1", "/simple/x/"), "LOGSEARCH");
  assert.deepEqual(ruleFor("pipx/1", "/simple/x/"), null);
  assert.deepEqual(ruleFor("x", "/project/x/json/"), "LOGJSON");
  assert.deepEqual(ruleFor("x", "/project/x/json"), "LOGPROJECT");
  assert.deepEqual(ruleFor("x", "/a/b.html"), "LOGPAGE");
  assert.deepEqual(ruleFor("x", "/a/b.htm"), null);
});

Deno.test("summarises user agents and names pages", () => {
  assert.deepEqual(agentSummary("Mozilla/5.0 (X11)"), "mozilla");
  assert.deepEqual(agentSummary("A".repeat(300)), "a".repeat(200));
  assert.deepEqual(pageName("/"), "home");
  assert.deepEqual(pageName("/index.html"), "home");
  assert.deepEqual(pageName("/stats.html"), "stats");
});

Deno.test("a pip agent with broken JSON still logs, without details", () => {
  const msg = classify({
    host: "10.0.0.1",
    time: new Date(0),
    method: "GET",
    path: "/simple/a/",
    status: 200,
    userAgent: 'pip/20.0 {"cpu": "armv7l"',
  });
  assert.deepEqual(msg?.name, "LOGSEARCH");
  assert.deepEqual(msg?.data.slice(3), [
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
  ]);
});

Deno.test("the fast encoder writes exactly what encodeMessage writes", () => {
  const send = lumberjackProtocol.reversed();
  const extra: LogMessage[] = [
    { name: "LOGPAGE", data: ["hömé", "::1", new Date(Date.UTC(2026, 0, 1, 0, 0, 0, 5)), "x"] },
    { name: "LOGPROJECT", data: ["p".repeat(300), "10.0.0.1", new Date(0), "a".repeat(70_000)] },
  ];
  const msgs = [
    ...CORPUS.map(([line]) => classify(combined.parse(line)!)).filter((m) => m !== null),
    ...extra,
  ];
  for (const msg of msgs) {
    assert.deepEqual(
      encodeLogMessage(msg),
      encodeMessage(send, msg.name, msg.data as never),
      msg.name,
    );
  }
});

Deno.test("the fast decoder reads what the encoder writes and refuses what it should", () => {
  const msgs = CORPUS.map(([line]) => classify(combined.parse(line)!)).filter((m) => m !== null);
  for (const msg of msgs) {
    const frame = encodeLogMessage(msg);
    const plain = (v: unknown) => JSON.parse(JSON.stringify(v));
    assert.deepEqual(plain(decodeLogMessage(frame)), plain(msg));
    assert.deepEqual(
      plain(decodeLogMessage(frame)),
      plain(decodeMessage(lumberjackProtocol, frame)),
    );
  }
  // A PAGE hit with a null agent: not the fast shape, and invalid for the protocol.
  const bad = encodeCbor(["LOGPAGE", ["home", "::1", new Date(0), null]]);
  assert.throws(() => decodeLogMessage(bad), ProtocolError);
  assert.throws(() => decodeLogMessage(new Uint8Array([0x82, 0x61])), ProtocolError);
});
