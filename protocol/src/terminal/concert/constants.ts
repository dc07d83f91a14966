/**
 * Control bytes, lengths and timers of Ingenico's Concert V2 "protocol E+" over serial.
 *
 * @see ../../../../docs/protocol/terminal-concert.md
 * @see docs/protocol/terminal-concert.md "Bytes"
 */

/** Enquiry: asks for the line (either side). */
export const ENQ = 0x05;
/** Acknowledge: line granted, or frame received with a good LRC. */
export const ACK = 0x06;
/** Negative acknowledge: frame rejected (bad STX/ETX/LRC), resend it. */
export const NAK = 0x15;
/** Start of text: first byte of a frame. */
export const STX = 0x02;
/** End of text: last byte before the LRC; included in the LRC. */
export const ETX = 0x03;
/** End of transmission: ends the sender's turn. */
export const EOT = 0x04;

/** Name of each single-byte control message. */
export type ControlName = 'ENQ' | 'ACK' | 'NAK' | 'EOT';

/** Byte of each control message. */
export const CONTROL_BYTES: Readonly<Record<ControlName, number>> = Object.freeze({ ENQ, ACK, NAK, EOT });

/** Payload length of a protocol E+ request. */
export const REQUEST_EPLUS_LENGTH = 34;
/** Payload length of an old protocol E request (no delay/authorisation fields). */
export const REQUEST_E_LENGTH = 26;
/** Payload length of a full answer (with the 55-char report). */
export const ANSWER_FULL_LENGTH = 80;
/** Payload length of a short answer. */
export const ANSWER_SHORT_LENGTH = 25;
/** Length of the report field of a full answer. */
export const REPORT_LENGTH = 55;
/** Length of the private-data field (our transaction reference). */
export const PRIVATE_LENGTH = 10;
/** Longest payload the frame parser accepts before declaring the frame broken. */
export const MAX_PAYLOAD_LENGTH = 512;

/** Name of the dialect as announced in `agent.hello`. */
export const CONCERT_DIALECT = 'concert-e+';

/**
 * Link-layer timers and retry caps (OSS-observed values; the spec file explains where each
 * one comes from). All durations in milliseconds.
 */
export interface ConcertTimings {
  /** Wait for ACK after our ENQ, and for ACK/NAK after our frame. @default 3000 */
  ackTimeoutMs: number;
  /** ENQ attempts before "terminal not ready". @default 3 */
  enqAttempts: number;
  /** Pause after EOT before the next ENQ attempt. @default 1000 */
  enqRetryDelayMs: number;
  /** Frame sends (first included) before giving up on NAKs. @default 3 */
  frameAttempts: number;
  /** Wait for the terminal's frame after we ACKed its ENQ, and inter-byte inside it. @default 3000 */
  frameTimeoutMs: number;
  /** Wait for EOT after we ACKed the terminal's answer. @default 3000 */
  eotTimeoutMs: number;
  /** NAKs we send for one answer before giving up on it. @default 3 */
  answerNakLimit: number;
  /**
   * Wait for the terminal's result ENQ after our EOT; must exceed the terminal's own card and
   * PIN time-outs. @default 120000
   */
  answerTimeoutMs: number;
}

/** Defaults of {@link ConcertTimings}, from pypostelium / pyTeliumManager. */
export const CONCERT_DEFAULT_TIMINGS: Readonly<ConcertTimings> = Object.freeze({
  ackTimeoutMs: 3_000,
  enqAttempts: 3,
  enqRetryDelayMs: 1_000,
  frameAttempts: 3,
  frameTimeoutMs: 3_000,
  eotTimeoutMs: 3_000,
  answerNakLimit: 3,
  answerTimeoutMs: 120_000,
});
