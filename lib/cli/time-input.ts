import { DateTime, IANAZone } from 'luxon';
import { show, showUnquoted } from '../shown-value';
import { CliError } from './aws-errors';

/**
 * Times as people type them, for `--from` and `--to`: `10:05` (today, or yesterday when today's
 * 10:05 has not come yet), `2026-12-01 10:05`, `-15m`, `now`, ISO 8601 (`2026-12-01T10:05:00Z`);
 * in the local time zone unless the time names one (`10:05 UTC`, `10:05 Europe/Berlin`,
 * `2026-12-01 10:05+01:00`). `--to` also takes `+20m`: that long after `--from`.
 */

export interface ParsedTime {
  readonly date: Date;
  /** The time as understood, for the user to check: `2026-12-01 10:05:00 CET`. */
  readonly shown: string;
}

const EXAMPLES = 'e.g. 10:05, "2026-12-01 10:05", -15m, now, 2026-12-01T10:05:00Z or "10:05 Europe/Berlin"';
const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** `-15m`, `+1h30m`, `-2d`: seconds (signed), or undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const match = /^([+-])((?:\d+\s*[smhd]\s*)+)$/i.exec(text.trim());
  if (!match) return undefined;
  let seconds = 0;
  for (const [, amount, unit] of match[2].matchAll(/(\d+)\s*([smhd])/gi)) {
    seconds += Number(amount) * UNITS[unit.toLowerCase()];
  }
  return match[1] === '-' ? -seconds : seconds;
}

/** Splits a trailing zone off: ` UTC`, `Z`, `+01:00`, `-0500`, ` Europe/Berlin`. */
function splitZone(text: string): { rest: string; zone?: string; unknownZone?: string } {
  const named = /^(.*\S)\s+([A-Za-z_]+(?:\/[A-Za-z0-9_+-]+)*)$/.exec(text);
  if (named && !/^(am|pm)$/i.test(named[2])) {
    const zone = /^(utc|gmt|z)$/i.test(named[2]) ? 'UTC' : named[2];
    return IANAZone.isValidZone(zone) ? { rest: named[1], zone } : { rest: named[1], unknownZone: named[2] };
  }
  const offset = /^(.*\d)\s*(Z|[+-]\d\d(?::?\d\d)?)$/i.exec(text);
  if (offset && /[:T ]\d/.test(offset[1])) {
    const sign =
      offset[2].toUpperCase() === 'Z' ? 'UTC' : `UTC${offset[2].replace(/^([+-]\d\d)(\d\d)$/, '$1:$2')}`;
    return { rest: offset[1], zone: sign };
  }
  return { rest: text };
}

/**
 * Reads one time. `relativeTo` is what `+20m` counts from (`--from` for `--to`); `zone` is the local
 * zone unless given (tests pin it).
 */
export function parseTime(
  text: string,
  option: string,
  now: Date,
  options: { relativeTo?: Date; zone?: string } = {},
): ParsedTime {
  const input = text.trim();
  const fail = (why = '') =>
    new CliError(`${option} ${show(text)}: ${why || 'not a time I can read'}; ${EXAMPLES}`, 2);
  const local = options.zone ?? 'local';
  const duration = parseDuration(input);
  let time: DateTime;
  if (/^now$/i.test(input)) {
    time = DateTime.fromJSDate(now, { zone: local });
  } else if (duration !== undefined) {
    if (duration > 0 && !options.relativeTo)
      throw fail('"+" counts from --from; give a time or "-15m" (ago)');
    const base = duration > 0 ? options.relativeTo! : now;
    time = DateTime.fromJSDate(new Date(base.getTime() + duration * 1000), { zone: local });
  } else {
    const { rest, zone = local, unknownZone } = splitZone(input);
    if (unknownZone) {
      throw fail(
        `${show(unknownZone)} is not a time zone (UTC, an offset like +01:00, or a name like Europe/Berlin)`,
      );
    }
    const clock = /^(\d{1,2}):(\d\d)(?::(\d\d))?$/.exec(rest);
    if (clock) {
      const today = DateTime.fromJSDate(now, { zone }).set({
        hour: Number(clock[1]),
        minute: Number(clock[2]),
        second: Number(clock[3] ?? 0),
        millisecond: 0,
      });
      if (Number(clock[1]) > 23 || Number(clock[2]) > 59 || Number(clock[3] ?? 0) > 59) throw fail();
      // A time of day that has not come yet today means the last one: at 09:00, "10:05" is yesterday's.
      time = today.toMillis() > now.getTime() + 60_000 ? today.minus({ days: 1 }) : today;
    } else {
      time = DateTime.fromISO(rest.replace(/^(\d{4}-\d\d-\d\d) (\d)/, '$1T$2'), { zone });
      if (!time.isValid || !/^\d{4}-\d\d-\d\d/.test(rest)) throw fail(whyInvalid(time));
    }
  }
  if (!time.isValid) throw fail(whyInvalid(time));
  return { date: time.toJSDate(), shown: time.toFormat('yyyy-MM-dd HH:mm:ss ZZZZ') };
}

/**
 * Luxon's reason when it names a part out of range ("you specified 13 ... as a month"); none when it
 * only repeats the input, unescaped, as "can't be parsed as ISO 8601" (the input is shown already).
 */
function whyInvalid(time: DateTime): string {
  const explanation = time.invalidExplanation ?? '';
  return /can't be parsed/.test(explanation) ? '' : showUnquoted(explanation);
}

export interface TimeRange {
  readonly from: ParsedTime;
  readonly to: ParsedTime;
}

/**
 * `--from` and `--to` (default: now, or `defaultSeconds` after `--from`), checked: the end after the
 * start, at most `maxSeconds` apart, the start not in the future.
 */
export function parseTimeRange(
  from: string | undefined,
  to: string | undefined,
  now: Date,
  limits: { maxSeconds: number; defaultSeconds?: number; zone?: string },
): TimeRange {
  if (from === undefined) throw new CliError(`--from is required, ${EXAMPLES}`, 2);
  const start = parseTime(from, '--from', now, { zone: limits.zone });
  if (start.date.getTime() > now.getTime()) {
    throw new CliError(`--from ${show(from)} is ${start.shown}, in the future: KVS holds only the past`, 2);
  }
  const end =
    to !== undefined
      ? parseTime(to, '--to', now, { relativeTo: start.date, zone: limits.zone })
      : limits.defaultSeconds !== undefined
        ? parseTime(`+${limits.defaultSeconds}s`, '--to', now, { relativeTo: start.date, zone: limits.zone })
        : parseTime('now', '--to', now, { zone: limits.zone });
  if (end.date.getTime() <= start.date.getTime()) {
    throw new CliError(`--to (${end.shown}) must be after --from (${start.shown})`, 2);
  }
  const seconds = (end.date.getTime() - start.date.getTime()) / 1000;
  if (seconds > limits.maxSeconds) {
    throw new CliError(
      `--from ${start.shown} to ${end.shown} is ${describeSeconds(seconds)}: at most ${describeSeconds(limits.maxSeconds)} at once`,
      2,
    );
  }
  return { from: start, to: end };
}

/** `4 h 10 min`, `12 min 5 s`, `40 s`. */
export function describeSeconds(total: number): string {
  const seconds = Math.round(total);
  if (seconds < 60) return `${seconds} s`;
  const days = Math.floor(seconds / 86400);
  const hours = Math.floor((seconds % 86400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const parts = [days ? `${days} d` : '', hours ? `${hours} h` : '', minutes ? `${minutes} min` : ''];
  if (!days && !hours && seconds % 60) parts.push(`${seconds % 60} s`);
  return parts.filter(Boolean).join(' ');
}

/** A time for tables and sentences, in the local zone: `10:05:03` today, else `2026-12-01 10:05:03`. */
export function localTime(date: Date, now: Date, zone?: string): string {
  const time = DateTime.fromJSDate(date, { zone: zone ?? 'local' });
  const sameDay = time.hasSame(DateTime.fromJSDate(now, { zone: zone ?? 'local' }), 'day');
  return time.toFormat(sameDay ? 'HH:mm:ss' : 'yyyy-MM-dd HH:mm:ss');
}
