/**
 * The transport's error class.
 * @module
 */

import { PiwError } from "../errors.ts";

/** Details attached to a `TransportError`. */
export interface TransportErrorDetails {
  /** The libzmq error number, when the error came from libzmq. */
  errno?: number;
  /** The socket type involved, e.g. "ROUTER". */
  socketType?: string;
  /** The endpoint involved, e.g. "tcp://*:5555". */
  endpoint?: string;
}

/** A libzmq failure (or a missing libzmq), with the `zmq_strerror` text and what was involved. */
export class TransportError extends PiwError {
  /** Always "TransportError". */
  override name = "TransportError";
  /** The libzmq error number, if any. */
  readonly errno?: number;
  /** The socket type involved, if any. */
  readonly socketType?: string;
  /** The endpoint involved, if any. */
  readonly endpoint?: string;

  /** An error with a one-line `message` and what was involved. */
  constructor(message: string, details: TransportErrorDetails = {}) {
    super(message);
    this.errno = details.errno;
    this.socketType = details.socketType;
    this.endpoint = details.endpoint;
  }
}
