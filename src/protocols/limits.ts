/**
 * The largest frame the master takes on each queue a peer can reach (ZMQ_MAXMSGSIZE: libzmq
 * cuts off a peer that sends more, before reading it into memory). Each is sized from what
 * legitimate messages need, with room to spare; a limit counts one frame, not a whole message.
 * What one connection can make the master hold is this times the socket's receive high-water mark
 * (frames queued per peer), so the queues with big limits keep that mark small.
 * @module
 */

import { FILE_CHUNK_SIZE } from "./file_juggler.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * The largest build priority of a package either way (PRIORITY; the database's
 * packages_priority_ck): the rank puts 1000 per step of priority above new-release and
 * popularity terms, and 1000 steps keep it a 32-bit integer.
 */
export const MAX_PRIORITY = 1000;

/** Most bytes a piw slave keeps of a build's output (the end of it); BUILT carries it. */
export const MAX_BUILD_OUTPUT = 8 * MiB;

/**
 * The longest text field of a slave's HELLO (label, OS name, board serial...), kept for as long
 * as the slave lives: real ones are host names and short version strings.
 */
export const MAX_HELLO_TEXT = 256;

/** piw logger sends a frame once it holds this many bytes (or its 100 records, ~15 KB). */
export const LOG_FRAME_TARGET = 256 * KiB;
/**
 * The longest access-log line piw logger sends on: Apache's request line and each header are at
 * most 8 KiB by default, a few of them escaped (up to 4 bytes a byte) still fit well below.
 */
export const MAX_LOG_LINE = 256 * KiB;

/**
 * A page of PENDINGLOGS (TheScribe writing the logs a crash left): at most this many logs, and
 * no more once their output reaches `bytes` (one log at least, so a page is below `bytes` plus
 * one log of {@link MAX_MESSAGE_SIZE.slaveQueue}).
 */
export const PENDING_LOGS_PAGE = { logs: 100, bytes: 16 * MiB } as const;

/** The largest frame accepted per queue (bytes). */
export const MAX_MESSAGE_SIZE = {
  /**
   * slave_driver (tcp 5555): BUILT holds the build output, at most {@link MAX_BUILD_OUTPUT} from
   * a piw slave, plus the file states; piwheels 0.23 slaves send all of it, so four times piw's
   * cap leaves room for their longer logs.
   */
  slaveQueue: 4 * MAX_BUILD_OUTPUT,
  /**
   * slave_extras (tcp 5559, piw only): HAVE names at most the Debian table's ~120 short names.
   */
  extrasQueue: 16 * KiB,
  /** file_juggler (tcp 5556): a CHUNK's data is one FETCH, {@link FILE_CHUNK_SIZE} at most. */
  fileQueue: FILE_CHUNK_SIZE + 4 * KiB,
  /**
   * lumberjack (ipc, the web server's group): piwheels' logger sends one record (a few KiB) a
   * frame; piw's up to 100, sent once they reach {@link LOG_FRAME_TARGET}, none from a line
   * longer than {@link MAX_LOG_LINE}: a frame stays below the target plus one record (a record is
   * never much bigger than its line). Small, as 10,000 frames may wait in the queue.
   */
  logQueue: 1 * MiB,
  /** mr_chase (ipc): IMPORT holds a build output like BUILT does. */
  importQueue: 4 * MAX_BUILD_OUTPUT,
  /** master_control (ipc, monitors): a message name and a slave id. */
  controlQueue: 64 * KiB,
  /** monitor_stats (ipc PUB): what a monitor sends it is a subscription, a short prefix. */
  statusQueue: 64 * KiB,
} as const;
