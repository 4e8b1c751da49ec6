/**
 * The version of piw, stated once in `deno.json`; also the database schema version that
 * `piw initdb` installs.
 * @module
 */
import denoJson from "../deno.json" with { type: "json" };

/** The version of piw (`deno.json`'s `version`); also the schema version `piw initdb` installs. */
export const PIW_VERSION: string = denoJson.version;
