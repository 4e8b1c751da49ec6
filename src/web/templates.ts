/**
 * The mustache templates of the web output (`templates/*.mustache`) and the static assets
 * (`templates/static/`), read once. Every template can include any other as a partial
 * (`{{> header}}`). Values are escaped with {@link escapeHtml}; the templates never use the
 * unescaped forms (`{{{ }}}`, `{{& }}`), which a test checks.
 * @module
 */
import { PiwError } from "../errors.ts";
// @ts-types="@types/mustache"
import mustache from "mustache";
import { escapeHtml } from "./escape.ts";

/** The directory piw's templates ship in (included by `deno compile --include templates`). */
export const TEMPLATES_DIR = new URL("../../templates/", import.meta.url);

/** A template name that does not exist. */
export class TemplateError extends PiwError {
  override name = "TemplateError";
}

/** The loaded templates. */
export class Templates {
  readonly #sources: Record<string, string> = {};
  readonly #dir: URL;

  /** Load every `*.mustache` in `dir` (default: piw's own templates). */
  constructor(dir: URL = TEMPLATES_DIR) {
    this.#dir = dir;
    for (const entry of Deno.readDirSync(dir)) {
      if (!entry.isFile || !entry.name.endsWith(".mustache")) continue;
      const name = entry.name.slice(0, -".mustache".length);
      this.#sources[name] = Deno.readTextFileSync(new URL(entry.name, dir));
      // Parse now so a broken template fails at start, not on the first page that uses it.
      mustache.parse(this.#sources[name]);
    }
  }

  /** Names of the loaded templates. */
  get names(): string[] {
    return Object.keys(this.#sources).sort();
  }

  /** The source of template `name`. */
  source(name: string): string {
    const source = this.#sources[name];
    if (source === undefined) throw new TemplateError(`no template named ${name}`);
    return source;
  }

  /** Render template `name` with `view`, escaping every value. */
  render(name: string, view: unknown): string {
    return mustache.render(this.source(name), view, this.#sources, { escape: escapeHtml });
  }

  /** The static assets to copy to the output root: file name → contents. */
  staticFiles(): Map<string, Uint8Array> {
    const files = new Map<string, Uint8Array>();
    const dir = new URL("static/", this.#dir);
    try {
      for (const entry of Deno.readDirSync(dir)) {
        if (entry.isFile) files.set(entry.name, Deno.readFileSync(new URL(entry.name, dir)));
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    return files;
  }
}
