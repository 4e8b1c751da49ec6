/** A program running in a detached tmux session, for screen captures and key presses. */
import { waitFor } from "../master/helpers.ts";

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

/** A tmux session running `command` in a `width`×`height` window. */
export class TmuxSession {
  readonly name = `piw-test-${crypto.randomUUID().slice(0, 8)}`;

  constructor(command: string, width = 120, height = 30) {
    // remain-on-exit keeps the pane so the exit can be seen.
    tmux("new-session", "-d", "-s", this.name, "-x", `${width}`, "-y", `${height}`, command);
    tmux("set-option", "-t", this.name, "remain-on-exit", "on");
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
