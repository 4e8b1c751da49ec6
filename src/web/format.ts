/**
 * How numbers, sizes and times are shown on the web pages and in the JSON.
 * @module
 */

const SIZE_UNITS = ["B", "KB", "MB", "GB", "TB", "PB"];

/**
 * A byte count in 1024-based units with one decimal (piwheels' format_size).
 * @example formatSize(1536) // "1.5 KB"
 */
export function formatSize(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < SIZE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${SIZE_UNITS[unit]}`;
}

/**
 * An integer with thousands separators (the homepage's statistics).
 * @example formatNumber(1234567) // "1,234,567"
 */
export function formatNumber(n: number): string {
  return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

/** `YYYY-MM-DD` in UTC. */
export function formatDate(date: Date): string {
  return `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1)}-${
    pad(date.getUTCDate())
  }`;
}

/** `YYYY-MM-DD HH:MM` in UTC (the "last updated" stamps). */
export function formatMinute(date: Date): string {
  return `${formatDate(date)} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}`;
}

/** `YYYY-MM-DD HH:MM:SS` in UTC (the project JSON's `released`, as piwheels writes it). */
export function formatSecond(date: Date): string {
  return `${formatMinute(date)}:${pad(date.getUTCSeconds())}`;
}

/**
 * PEP 700's `upload-time`: `yyyy-mm-ddThh:mm:ss.ffffffZ`, always six fraction digits (a
 * `PreciseDate` from the wire keeps its microseconds).
 * @example uploadTime(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6))) // "2024-01-02T03:04:05.006000Z"
 */
export function uploadTime(date: Date): string {
  const extra = (date as { extraMicroseconds?: number }).extraMicroseconds ?? 0;
  const us = date.getUTCMilliseconds() * 1000 + extra;
  return `${formatDate(date)}T${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:` +
    `${pad(date.getUTCSeconds())}.${pad(us, 6)}Z`;
}
