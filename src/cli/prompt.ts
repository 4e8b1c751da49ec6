/**
 * Yes/no prompts, as piwheels asks them: `QUESTION [Y/n] `, where Enter means yes; a destructive
 * question asks `QUESTION [y/N] `, where Enter means no (piwheels' Enter means yes for all).
 * @module
 */
import { DeclinedError } from "../errors.ts";

/** Where prompts read answers and write questions. */
export interface PromptIO {
  /** The next line of input without its line ending, or null at end of input. */
  readLine(): Promise<string | null>;
  /** Write text (no newline is added). */
  write(text: string): void;
}

/** Options of `confirm` and `ask`. */
export interface PromptOptions {
  /** `-y/--yes` was given: answer yes without asking. */
  yes?: boolean;
  /** Enter (an empty answer) means no: for questions whose yes destroys something. */
  defaultNo?: boolean;
  /** Where to ask; defaults to the process's (or `runCli`'s) standard input and output. */
  io?: PromptIO;
}

const ANSWERS: Record<string, boolean> = { y: true, yes: true, n: false, no: false };

let current: PromptIO | undefined;

/** Make `io` the default for prompts (`runCli` does this); returns the previous default. */
export function setPromptIO(io: PromptIO | undefined): PromptIO | undefined {
  const previous = current;
  current = io;
  return previous;
}

/**
 * Ask a yes/no question; resolves true for yes and false for no. End of input counts as a
 * refusal and throws `DeclinedError`, since nobody is there to say yes.
 */
export async function ask(question: string, options: PromptOptions = {}): Promise<boolean> {
  if (options.yes) return true;
  const io = options.io ?? current ?? stdio();
  for (;;) {
    io.write(`${question} ${options.defaultNo ? "[y/N]" : "[Y/n]"} `);
    const line = await io.readLine();
    if (line === null) {
      io.write("\n");
      throw new DeclinedError("No answer (end of input); cancelled");
    }
    const text = line.trim().toLowerCase();
    const answer = text === "" ? !options.defaultNo : ANSWERS[text];
    if (answer !== undefined) return answer;
    io.write("Invalid response\n");
  }
}

/**
 * Ask a yes/no question and go on only on yes: resolves true, or throws `DeclinedError` for
 * no and at end of input, which the CLI turns into exit code 2.
 * @example
 * await confirm("Proceed?", { yes: options.yes });
 */
export async function confirm(question: string, options: PromptOptions = {}): Promise<boolean> {
  if (!await ask(question, options)) throw new DeclinedError("Cancelled");
  return true;
}

/** A `PromptIO` reading lines from a byte reader and writing with `write`. */
export function readerPromptIO(
  reader: { read(buffer: Uint8Array): Promise<number | null> },
  write: (text: string) => void,
): PromptIO {
  const decoder = new TextDecoder();
  let pending = "";
  let ended = false;
  return {
    write,
    async readLine() {
      for (;;) {
        const newline = pending.indexOf("\n");
        if (newline >= 0) {
          const line = pending.slice(0, newline).replace(/\r$/, "");
          pending = pending.slice(newline + 1);
          return line;
        }
        if (ended) {
          // A last line without a newline is still an answer.
          if (pending === "") return null;
          const line = pending;
          pending = "";
          return line;
        }
        const buffer = new Uint8Array(4096);
        const count = await reader.read(buffer);
        if (count === null) {
          ended = true;
          pending += decoder.decode();
        } else {
          pending += decoder.decode(buffer.subarray(0, count), { stream: true });
        }
      }
    },
  };
}

/** A `PromptIO` answering from a fixed text, for tests. */
export function textPromptIO(input: string, write: (text: string) => void): PromptIO {
  const bytes = new TextEncoder().encode(input);
  let offset = 0;
  return readerPromptIO({
    read(buffer) {
      if (offset >= bytes.length) return Promise.resolve(null);
      const count = Math.min(buffer.length, bytes.length - offset);
      buffer.set(bytes.subarray(offset, offset + count));
      offset += count;
      return Promise.resolve(count);
    },
  }, write);
}

let stdioPrompt: PromptIO | undefined;

/** The process's standard input and output, shared so buffered input is not lost. */
function stdio(): PromptIO {
  const encoder = new TextEncoder();
  stdioPrompt ??= readerPromptIO(Deno.stdin, (text) => {
    const bytes = encoder.encode(text);
    for (let done = 0; done < bytes.length;) done += Deno.stdout.writeSync(bytes.subarray(done));
  });
  return stdioPrompt;
}
