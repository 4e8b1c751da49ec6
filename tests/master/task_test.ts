/**
 * The task framework: timers, pause/resume/quit per kind, handler errors, malformed control
 * messages, and protocol-bound queues (decoding, typed dispatch, typed replies, one line per
 * refused message), with real libzmq sockets in one thread.
 */
import assert from "node:assert/strict";
import { Context, type Socket } from "../../src/transport/mod.ts";
import {
  decodeMessage,
  encodeCbor,
  encodeMessage,
  NO_DATA,
  Protocol,
  schema,
  taskControlProtocol,
} from "../../src/protocols/mod.ts";
import { controlAddress, type MasterConfig, Task, type TaskKind } from "../../src/master/task.ts";
import { captureLogs, delay, startTask, testConfig, waitFor } from "./helpers.ts";

const control = taskControlProtocol.reversed();

/** A task counting timer runs and messages on `inproc://input-<name>`. */
class Probe extends Task {
  readonly name: string;
  override readonly kind: TaskKind;
  ticks = 0;
  received: string[] = [];

  constructor(context: Context, config: MasterConfig, name: string, kind: TaskKind, ms = 30) {
    super(context, config);
    this.name = name;
    this.kind = kind;
    const input = this.socket("PULL");
    input.bind(`inproc://input-${name}`);
    this.registerRaw(input, ([frame]) => {
      const text = new TextDecoder().decode(frame);
      if (text === "boom") throw new Error("handler exploded");
      this.received.push(text);
    });
    this.every(ms, () => {
      this.ticks++;
    });
  }
}

/** Run `body` with a context, a PUSH to the probe's input and one to its control queue. */
async function withProbe(
  kind: TaskKind,
  body: (probe: Probe, input: Socket, ctrl: Socket) => Promise<void>,
  ms = 30,
): Promise<void> {
  const context = new Context();
  const name = `probe_${kind}`;
  const probe = await startTask(new Probe(context, testConfig(), name, kind, ms));
  const input = context.socket("PUSH", { linger: 0 });
  input.connect(`inproc://input-${name}`);
  const ctrl = context.socket("PUSH", { linger: 0 });
  ctrl.connect(controlAddress(name));
  try {
    await body(probe, input, ctrl);
  } finally {
    input.close();
    ctrl.close();
    await probe.stop();
    await context.close();
  }
}

Deno.test("every() runs at start and then again after each interval", async () => {
  await withProbe("pauseable", async (probe) => {
    assert.ok(probe.ticks >= 1, "the timer ran at start");
    await waitFor(() => probe.ticks >= 4, 2000, "four ticks");
  });
});

Deno.test("every() waits its interval after the handler returns", async () => {
  const context = new Context();
  const starts: number[] = [];
  class Slow extends Task {
    readonly name = "slow";
    constructor() {
      super(context, testConfig());
      this.every(50, async () => {
        starts.push(performance.now());
        await delay(100);
      });
    }
  }
  const task = await startTask(new Slow());
  await waitFor(() => starts.length >= 3, 3000, "three runs");
  await task.stop();
  await context.close();
  for (let i = 1; i < starts.length; i++) {
    assert.ok(starts[i] - starts[i - 1] >= 145, `gap ${starts[i] - starts[i - 1]} ms`);
  }
});

Deno.test("a pauseable task stops its timers and queues until RESUME", async () => {
  await withProbe("pauseable", async (probe, input, ctrl) => {
    await ctrl.send([encodeMessage(control, "PAUSE")]);
    await waitFor(() => probe.paused, 2000, "paused");
    const ticks = probe.ticks;
    await input.send(["while paused"]);
    await delay(200);
    assert.equal(probe.ticks, ticks, "no timer ran while paused");
    assert.deepEqual(probe.received, [], "no message handled while paused");
    await ctrl.send([encodeMessage(control, "RESUME")]);
    await waitFor(() => probe.received.length === 1, 2000, "the queued message");
    assert.equal(probe.paused, false);
    await waitFor(() => probe.ticks > ticks, 2000, "timers again");
  });
});

Deno.test("a paused pauseable task still quits on QUIT", async () => {
  const context = new Context();
  const probe = new Probe(context, testConfig(), "probe_quit", "pauseable");
  await probe.init();
  const running = probe.run();
  const ctrl = context.socket("PUSH", { linger: 0 });
  ctrl.connect(controlAddress("probe_quit"));
  await ctrl.send([encodeMessage(control, "PAUSE")]);
  await waitFor(() => probe.paused, 2000, "paused");
  await ctrl.send([encodeMessage(control, "QUIT")]);
  await running;
  assert.ok(probe.quitting);
  ctrl.close();
  await context.close();
});

Deno.test("a pausing task only sets paused and keeps working", async () => {
  await withProbe("pausing", async (probe, input, ctrl) => {
    await ctrl.send([encodeMessage(control, "PAUSE")]);
    await waitFor(() => probe.paused, 2000, "paused");
    const ticks = probe.ticks;
    await input.send(["still working"]);
    await waitFor(() => probe.received.length === 1, 2000, "the message");
    await waitFor(() => probe.ticks > ticks, 2000, "timers");
    await ctrl.send([encodeMessage(control, "RESUME")]);
    await waitFor(() => !probe.paused, 2000, "resumed");
  });
});

Deno.test("a nonstop task ignores PAUSE", async () => {
  await withProbe("nonstop", async (probe, input, ctrl) => {
    await ctrl.send([encodeMessage(control, "PAUSE")]);
    await input.send(["after pause"]);
    await waitFor(() => probe.received.length === 1, 2000, "the message");
    assert.equal(probe.paused, false);
  });
});

Deno.test("a throwing handler is logged with the task name and the loop goes on", async () => {
  const logs = captureLogs("error");
  try {
    await withProbe("pausing", async (probe, input) => {
      await input.send(["boom"]);
      await input.send(["after"]);
      await waitFor(() => probe.received.includes("after"), 2000, "the next message");
      const line = logs.lines.find((l) => l.includes("handler exploded"));
      assert.ok(line, `logged: ${logs.lines.join("\n")}`);
      assert.ok(line.startsWith("master.probe_pausing:"), line);
    });
  } finally {
    logs.stop();
  }
});

Deno.test("a malformed control message is logged and dropped", async () => {
  const logs = captureLogs("error");
  try {
    await withProbe("pausing", async (probe, _input, ctrl) => {
      await ctrl.send([new Uint8Array([0xff, 0x00])]);
      await ctrl.send([encodeMessage(taskControlProtocol.reversed(), "PAUSE")]);
      await waitFor(() => probe.paused, 2000, "the PAUSE after the bad message");
      assert.ok(
        logs.lines.some((l) =>
          l.includes("dropped malformed message") && l.includes("task_control")
        ),
        logs.lines.join("\n"),
      );
    });
  } finally {
    logs.stop();
  }
});

Deno.test("quit() ends run() promptly even while it polls", async () => {
  const context = new Context();
  const probe = new Probe(context, testConfig(), "probe_prompt", "pauseable", 60_000);
  await probe.init();
  const running = probe.run();
  await delay(50);
  probe.quit();
  // The poll interval is 60 s: ending within 30 s means quit() cut the wait short.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const ended = await Promise.race([
    running.then(() => true),
    new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), 30_000)),
  ]);
  clearTimeout(timer);
  assert.ok(ended, "run() still waiting for its 60 s poll");
  await context.close();
});

Deno.test("a task whose setup fails closes what it opened", async () => {
  const context = new Context();
  class Broken extends Task {
    readonly name = "broken";
    protected override setup(): void {
      this.socket("PULL").bind("inproc://broken-input");
      throw new Error("no database");
    }
  }
  await assert.rejects(() => new Broken(context, testConfig()).init(), /no database/);
  // (zmq_close is asynchronous, so the endpoints are released a moment later.)
  assert.equal(context.sockets.size, 0);
  await context.close();
});

/** A queue of the tests' own: ADD [a, b] is answered SUM a + b, NAME is only noted. */
const calcProtocol = new Protocol("calc", {
  ADD: schema.tuple(["a", schema.int], ["b", schema.int]),
  NAME: schema.str,
  RESET: null,
}, {
  SUM: schema.int,
  OK: null,
});
const calcClient = calcProtocol.reversed();

/**
 * A task with the calculator on a ROUTER (typed handler map, replies with `trySendTo`), on a
 * PULL (one handler for the whole union) and on a REP whose refusals are answered.
 */
class Calc extends Task {
  readonly name: string;
  seen: string[] = [];
  peers: Uint8Array[] = [];

  constructor(context: Context, name: string) {
    super(context, testConfig());
    this.name = name;
    const router = this.queue("ROUTER", calcProtocol);
    router.socket.bind(`inproc://${name}-router`);
    this.register(router, {
      ADD: ([a, b], peer) => {
        this.seen.push(`ADD ${a}+${b}`);
        this.peers.push(peer);
        router.trySendTo(peer, "SUM", a + b);
      },
      NAME: (name, peer) => {
        this.seen.push(`NAME ${name}`);
        router.trySendTo(peer, "OK");
      },
      RESET: (data, peer) => {
        this.seen.push(`RESET ${data === NO_DATA}`);
        router.trySendTo(peer, "OK");
      },
    });
    const pull = this.queue("PULL", calcProtocol);
    pull.socket.bind(`inproc://${name}-pull`);
    this.register(pull, (msg) => {
      this.seen.push(`pull ${msg.name}`);
    });
    const rep = this.queue("REP", calcProtocol);
    rep.socket.bind(`inproc://${name}-rep`);
    this.register(rep, (msg) => rep.send("SUM", msg.name === "ADD" ? msg.data[0] : 0), {
      refused: (error) => {
        this.logRefusal(rep.name, error);
        return rep.send("OK");
      },
    });
  }
}

async function withCalc(
  name: string,
  body: (calc: Calc, context: Context) => Promise<void>,
): Promise<void> {
  const context = new Context();
  const calc = await startTask(new Calc(context, name));
  try {
    await body(calc, context);
  } finally {
    await calc.stop();
    await context.close();
  }
}

Deno.test("a queue's messages reach their typed handlers decoded, and replies go back typed", async () => {
  await withCalc("calc_dispatch", async (calc, context) => {
    const req = context.socket("REQ", { linger: 0 });
    req.connect("inproc://calc_dispatch-router");
    try {
      await req.send([encodeMessage(calcClient, "ADD", [2, 3])]);
      const reply = await req.recv(5000);
      assert.ok(reply, "no reply to ADD");
      assert.deepEqual(decodeMessage(calcClient, reply[0]), { name: "SUM", data: 5 });
      await req.send([encodeMessage(calcClient, "RESET")]);
      const ok = await req.recv(5000);
      assert.ok(ok, "no reply to RESET");
      assert.equal(decodeMessage(calcClient, ok[0]).name, "OK");
      assert.deepEqual(calc.seen, ["ADD 2+3", "RESET true"]);
      assert.equal(calc.peers[0].length > 0, true, "the ROUTER handler got its peer");
    } finally {
      req.close();
    }
  });
});

Deno.test("a bad message costs one line naming the queue, and the queue goes on", async () => {
  const logs = captureLogs("warning");
  try {
    await withCalc("calc_refuse", async (calc, context) => {
      const push = context.socket("PUSH", { linger: 0 });
      push.connect("inproc://calc_refuse-pull");
      try {
        const bad: Uint8Array[][] = [
          [encodeCbor(["SUB", [1, 2]])], // unknown message
          [encodeCbor(["ADD", [1, "two"]])], // invalid data
          [encodeCbor(["ADD", [1, 2]]), encodeCbor("RESET")], // two frames
          [new Uint8Array([0xff, 0x00])], // not CBOR
        ];
        for (const frames of bad) await push.send(frames);
        await push.send([encodeMessage(calcClient, "NAME", "after")]);
        await waitFor(() => calc.seen.length === 1, 5000, "the good message after the bad");
        assert.deepEqual(calc.seen, ["pull NAME"]);
        const refusals = logs.lines.filter((l) => l.includes("dropped malformed message"));
        assert.equal(refusals.length, bad.length, logs.lines.join("\n"));
        for (const line of refusals) {
          assert.ok(line.startsWith("master.calc_refuse:"), line);
          assert.ok(line.includes(": calc: "), `the line names the queue: ${line}`);
        }
        assert.ok(refusals.some((l) => l.includes("unknown message")), refusals.join("\n"));
        assert.ok(refusals.some((l) => l.includes("2 frames")), refusals.join("\n"));
        assert.ok(!logs.lines.some((l) => /^\s+at /.test(l)), "no stack trace");
        // A peer repeating itself costs a few lines a minute, not one a message.
        for (let i = 0; i < 40; i++) await push.send([encodeCbor(["SUB", i])]);
        await push.send([encodeMessage(calcClient, "NAME", "last")]);
        await waitFor(() => calc.seen.length === 2, 5000, "the message after the flood");
        const flood = logs.lines.filter((l) => l.includes("dropped malformed message"));
        assert.ok(flood.length <= 10, `${flood.length} lines for 44 bad messages`);
      } finally {
        push.close();
      }
    });
  } finally {
    logs.stop();
  }
});

Deno.test("a REP queue answers a refused message through its refused handler", async () => {
  const logs = captureLogs("warning");
  try {
    await withCalc("calc_rep", async (_calc, context) => {
      const req = context.socket("REQ", { linger: 0 });
      req.connect("inproc://calc_rep-rep");
      try {
        await req.send([encodeCbor(["ADD", "junk"])]);
        const answer = await req.recv(5000);
        assert.ok(answer, "a refused request left the REQ waiting");
        assert.equal(decodeMessage(calcClient, answer[0]).name, "OK");
        // The REP socket can take the next request.
        await req.send([encodeMessage(calcClient, "ADD", [7, 1])]);
        const sum = await req.recv(5000);
        assert.ok(sum, "no reply after the refusal");
        assert.deepEqual(decodeMessage(calcClient, sum[0]), { name: "SUM", data: 7 });
        assert.equal(
          logs.lines.filter((l) => l.includes("dropped malformed message: calc: ADD")).length,
          1,
          logs.lines.join("\n"),
        );
      } finally {
        req.close();
      }
    });
  } finally {
    logs.stop();
  }
});
