import assert from "node:assert/strict";
import { decodeMessage, ProtocolError, slaveDriverProtocol } from "../../src/protocols/mod.ts";
import { Queue } from "../../src/transport/mod.ts";
import { SLAVE_MESSAGES } from "./_seeds.ts";
import { uniqueEndpoint, withContext } from "./_helpers.ts";

const TOTAL = 100_000;
const BATCH = 500;
const EMPTY = new Uint8Array(0);

/** mulberry32: a small seeded generator, so a failure can be replayed. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random bytes, a mutated well-formed message, or a well-formed one, in random framing. */
function makeFrames(rand: () => number): Uint8Array[] {
  const int = (n: number) => Math.floor(rand() * n);
  const junk = (n: number) => Uint8Array.from({ length: n }, () => int(256));
  const seed = SLAVE_MESSAGES[int(SLAVE_MESSAGES.length)];
  let payload: Uint8Array;
  switch (int(6)) {
    case 0:
      payload = junk(int(80));
      break;
    case 1: { // flip a few bits
      payload = seed.slice();
      for (let i = int(4); i >= 0; i--) payload[int(payload.length)] ^= 1 << int(8);
      break;
    }
    case 2: // truncate
      payload = seed.slice(0, int(seed.length));
      break;
    case 3: { // insert or append junk
      const at = int(seed.length + 1);
      payload = new Uint8Array([
        ...seed.subarray(0, at),
        ...junk(1 + int(8)),
        ...seed.subarray(at),
      ]);
      break;
    }
    case 4: { // overwrite a byte with a CBOR head of another major type or length
      payload = seed.slice();
      payload[int(payload.length)] = int(256);
      break;
    }
    default:
      payload = seed;
  }
  // The ROUTER prepends the identity: a DEALER frames [empty, payload] as a REQ would.
  switch (int(8)) {
    case 0:
      return [payload];
    case 1:
      return [EMPTY, payload, junk(int(4))];
    case 2:
      return [junk(1 + int(4)), payload];
    case 3:
      return [EMPTY, EMPTY, EMPTY, payload];
    default:
      return [EMPTY, payload];
  }
}

/** What the receiver must conclude about `frames`: "ok", "bad", or a non-protocol crash. */
function verdict(frames: Uint8Array[]): string {
  if (frames.length !== 2 || frames[0].length !== 0) return "bad";
  try {
    decodeMessage(slaveDriverProtocol, frames[1]);
    return "ok";
  } catch (e) {
    return e instanceof ProtocolError ? "bad" : `crash: ${e}`;
  }
}

Deno.test("100,000 random and mutated messages cannot upset a validating ROUTER", () =>
  withContext(async (ctx) => {
    const rand = random(20261123);
    const router = new Queue(ctx.socket("ROUTER", { hwm: 0 }), slaveDriverProtocol, "addressed");
    const endpoint = router.socket.bind(uniqueEndpoint("inproc"));
    const attackers = [0, 1, 2, 3].map((i) =>
      ctx.socket("DEALER", { hwm: 0, identity: `attacker-${i}` })
    );
    for (const attacker of attackers) attacker.connect(endpoint);
    const honest = ctx.socket("REQ", { identity: "honest" });
    honest.connect(endpoint);

    const expected = { ok: 0, bad: 0 };
    const counted = { ok: 0, bad: 0 };
    const crashes: string[] = [];
    let served = 0;
    for (let sent = 0; sent < TOTAL; sent += BATCH) {
      for (let i = 0; i < BATCH; i++) {
        const frames = makeFrames(rand);
        const expect = verdict(frames);
        if (expect.startsWith("crash")) crashes.push(expect);
        else expected[expect as "ok" | "bad"]++;
        assert.equal(attackers[i % attackers.length].trySend(frames), true);
      }
      // The honest slave's request sits in the same queue as the batch.
      assert.equal(honest.trySend([SLAVE_MESSAGES[2]]), true);
      for (let i = 0; i <= BATCH; i++) {
        const frames = await router.socket.recv(1000);
        assert.notEqual(frames, null, "a message went missing");
        let peer;
        try {
          [, peer] = router.read(frames!);
        } catch (e) {
          if (!(e instanceof ProtocolError)) throw e;
          counted.bad++;
          continue;
        }
        if (new TextDecoder().decode(peer) !== "honest") {
          counted.ok++;
          continue;
        }
        await router.sendTo(peer, "DIE");
        served++;
      }
      assert.notEqual(await honest.recv(1000), null, "the honest peer was not served");
    }
    assert.deepEqual(crashes, []);
    assert.equal(served, TOTAL / BATCH);
    assert.deepEqual(counted, expected);
    assert.ok(expected.bad > TOTAL / 2, `only ${expected.bad} bad messages generated`);
  }));
