/** A program running in a detached tmux session, for screen captures and key presses. */
import { waitFor } from "../master/helpers.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** Whether tmux is installed (scripts/setup --tests installs it). */
export const HAVE_TMUX = (() => {
  try {
    return new Deno.Command("tmux", { args: ["-V"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

function tmux(...args: string[]): string {
  const out = new Deno.Command("tmux", { args, stderr: "piped" }).outputSync();
  if (!out.success) {
    throw new Error(`tmux ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** Where a monitor looks: a master's status and control queues. */
export interface WatchedQueues {
  statusQueue: string;
  controlQueue: string;
}

/** A tmux session running `command` in a `width`×`height` window. */
export class TmuxSession {
  readonly name = `piw-test-${crypto.randomUUID().slice(0, 8)}`;

  constructor(command: string, width = 120, height = 30) {
    // remain-on-exit keeps the pane so the exit can be seen.
    tmux("new-session", "-d", "-s", this.name, "-x", `${width}`, "-y", `${height}`, command);
    tmux("set-option", "-t", this.name, "remain-on-exit", "on");
  }

  /**
   * A session running `piw <command>` (a monitor) on `master`'s status and control queues (by
   * default fresh ones no master listens on), with no config files, stderr dropped, `env` added.
   */
  static piw(
    command: string[],
    width: number,
    height: number,
    options: { master?: WatchedQueues; env?: Record<string, string> } = {},
  ): TmuxSession {
    const prefix = `ipc:///tmp/piw-tmux-${crypto.randomUUID().slice(0, 8)}`;
    const { statusQueue, controlQueue } = options.master ??
      { statusQueue: `${prefix}-status`, controlQueue: `${prefix}-control` };
    const vars = Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v} `).join("");
    const args = [...command, "--status-queue", statusQueue, "--control-queue", controlQueue];
    const piw = `${Deno.execPath()} run -A ${MAIN} ${args.join(" ")}`;
    return new TmuxSession(`env PIW_CONFIG_PATHS= ${vars}${piw} 2>/dev/null`, width, height);
  }

  /** The screen as plain text. */
  capture(): string {
    return tmux("capture-pane", "-p", "-t", this.name);
  }

  /** The screen with its colour escapes. */
  captureEscapes(): string {
    return tmux("capture-pane", "-p", "-e", "-t", this.name);
  }

  /** Press keys (tmux names: "Tab", "Down", "Enter", or literal characters). */
  keys(...keys: string[]): void {
    tmux("send-keys", "-t", this.name, ...keys);
  }

  /** Wait until the screen matches `pattern`; returns the screen. */
  async waitForScreen(pattern: RegExp, timeoutMs = 30_000): Promise<string> {
    let screen = "";
    try {
      return await waitFor(() => {
        screen = this.capture();
        return pattern.test(screen) ? screen : null;
      }, timeoutMs) as string;
    } catch {
      throw new Error(`screen never matched ${pattern}:\n${screen}`);
    }
  }

  /** Whether the program in the pane has exited. */
  dead(): boolean {
    return tmux("display-message", "-p", "-t", this.name, "#{pane_dead}").trim() === "1";
  }

  /** The exit status of the program in a dead pane. */
  exitStatus(): number {
    return Number(tmux("display-message", "-p", "-t", this.name, "#{pane_dead_status}").trim());
  }

  /** End the session. */
  kill(): void {
    try {
      tmux("kill-session", "-t", this.name);
    } catch {
      // Already gone.
    }
  }
}
