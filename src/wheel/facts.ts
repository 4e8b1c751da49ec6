/**
 * The facts of one wheel file that every layer shares (slave, importer, master, database, web):
 * each file record there extends {@link WheelFacts} with what only it needs.
 * @module
 */

/** A wheel file by itself: name, size, SHA-256, filename tags and Requires-Python. */
export interface WheelFacts {
  filename: string;
  /** Bytes. */
  filesize: number;
  /** SHA-256, lower-case hex. */
  filehash: string;
  packageTag: string;
  packageVersionTag: string;
  pyVersionTag: string;
  abiTag: string;
  platformTag: string;
  requiresPython: string | null;
}
