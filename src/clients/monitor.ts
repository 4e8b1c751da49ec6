/**
 * A monitor's connection to the master: SUB to the status queue (everything), PUSH to the
 * control queue, HELLO after a second, and HELLO again whenever the master falls silent (it
 * restarted, or was not up yet) so the display refills by itself. Shared by monitor and sense.
 * @module
 */

import { Context, type Socket } from "../transport/mod.ts";
import {
  decodeMessage,
  encodeMessage,
  masterControlProtocol,
  monitorStatsProtocol,
  ProtocolError,
} from "../protocols/mod.ts";
import { FarmState } from "../monitor/state.ts";

const control = masterControlProtocol.reversed();
const RESTARTED = "master restarted; reloading";
/** How often HELLO is repeated until the master's HELLO comes back. */
const HELLO_RETRY_MS = 2_000;
/** At most one HELLO this often for slaves that turn up without their HELLO. */
const UNKNOWN_SLAVE_HELLO_MS = 10_000;

/** A control command a monitor can send (QUIT and HELLO carry nothing, the rest an id or null). */
export type Command =
  | { name: "HELLO" | "QUIT" }
  | { name: "KILL" | "SLEEP" | "SKIP" | "WAKE"; slaveId: number | null };

/** Connection timing; tests shorten it. */
export interface ClientTiming {
  /** Wait after connecting before the first HELLO (piwheels: 1 s, so the SUB has joined). */
  helloDelayMs: number;
  /** Silence after which HELLO is sent again (the master sends STATS every 10 s). */
  silenceMs: number;
}

/** The default timing; `PIW_MONITOR_SILENCE` (seconds) overrides the silence, for tests. */
export function defaultTiming(env = Deno.env): ClientTiming {
  const silence = Number(env.get("PIW_MONITOR_SILENCE"));
  return { helloDelayMs: 1_000, silenceMs: silence > 0 ? silence * 1000 : 25_000 };
}

/** What the UI shows about the link: connecting, connected, or lost (re-sending HELLO). */
export type LinkState = "connecting" | "connected" | "lost";

/**
 * The master link and the farm state it feeds. `onChange` runs after each batch of messages
 * and each link-state change; `notice` holds the latest one-line news for the status bar.
 */
export class MasterClient {
  /** The farm as the status queue describes it. */
  readonly farm: FarmState = new FarmState();
  /** The link's state. */
  link: LinkState = "connecting";
  /** The latest news for a status line ("master restarted; reloading", …). */
  notice = "connecting to the master";
  /** Called whenever something changed. */
  onChange: () => void = () => {};

  #context = new Context();
  #status: Socket;
  #control: Socket;
  #running = true;
  #lastHello = 0;
  /** Whether the master's HELLO answered ours since the link was last lost. */
  #greeted = false;
  #loop: Promise<void> | null = null;

  /** Connect to the two queues (nothing is sent until `start`). */
  constructor(
    statusQueue: string,
    controlQueue: string,
    readonly timing: ClientTiming = defaultTiming(),
  ) {
    this.#status = this.#context.socket("SUB", { subscribe: "", linger: 0 });
    this.#status.connect(statusQueue);
    // Linger so a QUIT sent just before the monitor exits still goes out.
    this.#control = this.#context.socket("PUSH", { linger: 1000, sndHwm: 100 });
    this.#control.connect(controlQueue);
  }

  /** Start receiving; HELLO goes out after `helloDelayMs`. */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** Send a control command (dropped, not queued forever, if the master is gone). */
  send(command: Command): void {
    const frame = "slaveId" in command
      ? encodeMessage(control, command.name, command.slaveId)
      : encodeMessage(control, command.name);
    this.#control.trySend([frame]);
  }

  async #run(): Promise<void> {
    const started = Date.now();
    let helloDue = started + this.timing.helloDelayMs;
    let heard = started;
    while (this.#running) {
      const now = Date.now();
      if (!this.#greeted && now >= helloDue) {
        this.send({ name: "HELLO" });
        this.#lastHello = now;
        // Slave traffic may flow without the master having seen our HELLO: ask until it answers.
        helloDue = now + HELLO_RETRY_MS;
      }
      // Wake for the next HELLO while greeting; otherwise a quarter second to watch the silence.
      const wait = this.#greeted ? 250 : Math.max(1, Math.min(250, helloDue - now));
      const frames = await this.#status.recv(wait);
      if (!this.#running) break;
      if (frames) {
        heard = Date.now();
        this.#receive(frames);
        // Drain what else is waiting before redrawing.
        for (let i = 0; i < 200; i++) {
          const more = this.#status.tryRecv();
          if (!more) break;
          this.#receive(more);
        }
        if (this.link !== "connected" && this.#greeted) {
          this.link = "connected";
          if (this.notice !== RESTARTED) this.notice = "connected";
        }
        this.onChange();
      } else if (Date.now() - heard > this.timing.silenceMs && this.link !== "lost") {
        // The master stopped (or restarted): greet it again once it is back.
        this.link = "lost";
        this.#greeted = false;
        this.notice = "master silent; reconnecting";
        helloDue = Date.now();
        this.onChange();
      }
    }
  }

  #receive(frames: Uint8Array[]): void {
    if (frames.length !== 1) return;
    try {
      const msg = decodeMessage(monitorStatsProtocol, frames[0]);
      if (msg.name === "HELLO") this.#greeted = true;
      // A slave we never heard of that does not start with HELLO: the master restarted before
      // we noticed any silence (or missed our HELLO); ask for the full picture again.
      if (
        msg.name === "SLAVE" && !this.farm.slaves.has(msg.data[0]) && msg.data[2] !== "HELLO" &&
        Date.now() - this.#lastHello > UNKNOWN_SLAVE_HELLO_MS
      ) {
        this.send({ name: "HELLO" });
        this.#lastHello = Date.now();
      }
      if (this.farm.apply(msg) === "new-master") {
        this.notice = RESTARTED;
        // Ask the new master for everything (its slaves may not have said HELLO yet).
        if (Date.now() - this.#lastHello > 1000) this.send({ name: "HELLO" });
      }
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.notice = `dropped a malformed message: ${error.message}`;
    }
  }

  /** Stop receiving and close the sockets. */
  async close(): Promise<void> {
    this.#running = false;
    await this.#loop;
    this.#status.close();
    this.#control.close();
    await this.#context.close();
  }
}
