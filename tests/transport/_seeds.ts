/**
 * Well-formed slave_driver messages from a slave (piwheels 0.23 wire bytes), the seeds of the
 * message and fuzz tests.
 * @module
 */

import { encodeMessage, slaveDriverProtocol } from "../../src/protocols/mod.ts";

const hex = (text: string) => Uint8Array.from(text.match(/../g)!, (byte) => parseInt(byte, 16));

/** HELLO, IDLE, BYE and SENT as a slave sends them. */
export const SLAVE_MESSAGES: Uint8Array[] = [
  hex(
    "826548454c4c4f8ad907d18300192a3000d907d1830019012c00633331316563703331316c6c696e75785f61" +
      "726d76376c66736c6176653272526173706269616e20474e552f4c696e75786d3131202862756c6c736579" +
      "6529666330333131317031303030303030303366646263336564",
  ),
  hex(
    "826449444c4589c074323032342d30312d30325430333a30343a30355a1b00000002540be4001b00000001" +
      "2a05f2001aee6b28001a773594000000fb0000000000000000fb4047c00000000000",
  ),
  encodeMessage(slaveDriverProtocol.reversed(), "BYE"),
  encodeMessage(slaveDriverProtocol.reversed(), "SENT"),
];
