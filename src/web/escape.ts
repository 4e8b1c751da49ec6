/**
 * HTML escaping for everything that reaches a page: names, versions and descriptions come from
 * PyPI, filenames and dependencies from slaves, so none of it is trusted.
 * @module
 */

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

const NEEDS_ESCAPE = /[&<>"']/;
const ESCAPABLE = /[&<>"']/g;

/**
 * Escape text for an HTML (or XML) text node or a quoted attribute value. Unlike mustache's
 * default it leaves `/` and `=` alone, so URLs and `data-requires-python` stay readable; every
 * attribute in piw's templates is quoted, which is what makes that safe.
 * @example escapeHtml('>=3.7 "x"') // "&gt;=3.7 &quot;x&quot;"
 */
export function escapeHtml(text: unknown): string {
  const s = String(text);
  // Most values (names, hashes, numbers) need nothing; testing first avoids the replace.
  return NEEDS_ESCAPE.test(s) ? s.replace(ESCAPABLE, (c) => HTML_ESCAPES[c]) : s;
}
