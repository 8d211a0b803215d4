/**
 * Recording schedules: the weekly windows in which a camera records, as wall-clock times in a named time
 * zone. This module is the TypeScript side of the window arithmetic: it reads the config's windows
 * (`"days": "mon-fri", "from": "07:00", "to": "19:00"`), compiles them to the form the gateway runs
 * (`CompiledSchedule`: merged minute ranges of the local week), and answers what the CLI and the stacks
 * ask of a schedule: recording now or not, until when, how many hours a week, which UTC offsets the zone
 * has over the years (for the alarms). The gateway's own decision is userdata/recording_schedule.py, on
 * the compiled form only; both follow the same rule and are tested against the same cases:
 *
 *   a camera records at an instant when the wall-clock time of its zone at that instant, as a weekday
 *   and a minute of the day, falls in one of its windows ([from, to), a window whose "to" is not after
 *   its "from" ends on the next day).
 *
 * So daylight saving behaves as a clock on the wall does: a window never starts in the hour a spring
 * transition skips (02:30 does not happen; a window 02:30-05:00 starts at 03:00), and the hour an autumn
 * transition repeats is inside a window twice when its wall-clock times are.
 */

import { show } from './shown-value';

export const DAY_NAMES = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export const MINUTES_PER_DAY = 24 * 60;
export const MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY;
/** A weekly schedule changes state within a week, or two when daylight saving skips its only window once. */
const SEARCH_LIMIT_MINUTES = 2 * MINUTES_PER_WEEK + MINUTES_PER_DAY;

/** One window as the config writes it. */
export interface ScheduleWindow {
  /** Days the window starts on: "mon-fri", "sat,sun", "fri-mon", "daily". Default "daily". */
  readonly days: string;
  /** "HH:MM", 00:00 to 23:59. */
  readonly from: string;
  /** "HH:MM", 00:00 to 24:00; not after `from`: the window ends on the next day. */
  readonly to: string;
}

export interface RecordingSchedule {
  /** An IANA time zone, like "Europe/Berlin". */
  readonly timeZone: string;
  readonly windows: readonly ScheduleWindow[];
}

/**
 * What the gateway runs: the minutes of the local week (0 = Monday 00:00) in which the camera records,
 * as sorted, disjoint, non-adjacent [start, end) ranges within [0, MINUTES_PER_WEEK].
 */
export interface CompiledSchedule {
  readonly timeZone: string;
  readonly weekMinutes: readonly (readonly [number, number])[];
}

/** Day indexes (0 = Monday) of a `days` text, or a sentence saying what is wrong with it. */
export function parseDays(text: string): number[] | string {
  const wrong = `${show(text)}: use day names (${DAY_NAMES.join(', ')}), ranges like "mon-fri" or "fri-mon", lists like "sat,sun", or "daily"`;
  const normalized = text.trim().toLowerCase();
  if (normalized === 'daily') return [0, 1, 2, 3, 4, 5, 6];
  const days = new Set<number>();
  for (const item of normalized.split(',').map((part) => part.trim())) {
    const [first, last, ...rest] = item.split('-').map((part) => DAY_NAMES.indexOf(part.trim() as never));
    if (first === undefined || first < 0 || rest.length > 0 || (last !== undefined && last < 0)) return wrong;
    // A range may wrap past Sunday: "fri-mon" is Friday to Monday.
    for (let day = first; ; day = (day + 1) % 7) {
      days.add(day);
      if (last === undefined || day === last) break;
    }
  }
  return [...days].sort((a, b) => a - b);
}

/** Minutes since midnight of "HH:MM" (24:00 only when `endOfDay`), or undefined. */
export function parseClock(text: string, endOfDay = false): number | undefined {
  const match = /^([01]\d|2[0-4]):([0-5]\d)$/.exec(text);
  if (!match) return undefined;
  const minutes = Number(match[1]) * 60 + Number(match[2]);
  if (minutes > MINUTES_PER_DAY || (minutes === MINUTES_PER_DAY && !endOfDay)) return undefined;
  return minutes;
}

/** The minute ranges of the local week a schedule's windows cover, merged. */
export function compileSchedule(schedule: RecordingSchedule): CompiledSchedule {
  const ranges: [number, number][] = [];
  for (const window of schedule.windows) {
    const days = parseDays(window.days);
    const from = parseClock(window.from);
    const to = parseClock(window.to, true);
    if (typeof days === 'string' || from === undefined || to === undefined || from === to) {
      throw new Error(`not a valid window: ${JSON.stringify(window)} (the config check lets none through)`);
    }
    const length = to > from ? to - from : MINUTES_PER_DAY - from + to;
    for (const day of days) {
      const start = day * MINUTES_PER_DAY + from;
      const end = start + length;
      // Sunday's window across midnight goes on into Monday, at the start of the week.
      if (end <= MINUTES_PER_WEEK) ranges.push([start, end]);
      else ranges.push([start, MINUTES_PER_WEEK], [0, end - MINUTES_PER_WEEK]);
    }
  }
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [start, end] of ranges) {
    const last = merged[merged.length - 1];
    if (last && start <= last[1]) last[1] = Math.max(last[1], end);
    else merged.push([start, end]);
  }
  return { timeZone: schedule.timeZone, weekMinutes: merged };
}

/** Hours a week in which the schedule records (wall-clock hours; a daylight-saving change adds or takes one). */
export function recordedHoursPerWeek(schedule: CompiledSchedule): number {
  return schedule.weekMinutes.reduce((sum, [start, end]) => sum + end - start, 0) / 60;
}

/** The wall clock of a time zone at an instant. */
export interface WallClock {
  /** 0 = Monday. */
  readonly weekday: number;
  readonly hour: number;
  readonly minute: number;
  /** Local time minus UTC, in minutes. */
  readonly offsetMinutes: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const WEEKDAYS: Record<string, number> = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };

/** The wall clock of `timeZone` at `epochMs` (Intl, the ICU time-zone database of Node). */
export function wallClock(timeZone: string, epochMs: number): WallClock {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, formatter);
  }
  const part: Record<string, string> = {};
  for (const { type, value } of formatter.formatToParts(epochMs)) part[type] = value;
  const [hour, minute] = [Number(part.hour), Number(part.minute)];
  const localAsUtc = Date.UTC(
    Number(part.year),
    Number(part.month) - 1,
    Number(part.day),
    hour,
    minute,
    Number(part.second),
  );
  const wholeSecond = Math.floor(epochMs / 1000) * 1000;
  return {
    weekday: WEEKDAYS[part.weekday],
    hour,
    minute,
    offsetMinutes: Math.round((localAsUtc - wholeSecond) / 60_000),
  };
}

function minuteOfWeek(clock: WallClock): number {
  return clock.weekday * MINUTES_PER_DAY + clock.hour * 60 + clock.minute;
}

function coversWholeWeek(schedule: CompiledSchedule): boolean {
  const [first] = schedule.weekMinutes;
  return schedule.weekMinutes.length === 1 && first[0] === 0 && first[1] === MINUTES_PER_WEEK;
}

function recordsAtMinute(schedule: CompiledSchedule, minute: number): boolean {
  return schedule.weekMinutes.some(([start, end]) => minute >= start && minute < end);
}

/** Whether the schedule records at `epochMs`. */
export function isRecording(schedule: CompiledSchedule, epochMs: number): boolean {
  return recordsAtMinute(schedule, minuteOfWeek(wallClock(schedule.timeZone, epochMs)));
}

/** Minutes from local minute-of-week `minute` to the next range start or end after it. */
function minutesToNextBoundary(schedule: CompiledSchedule, minute: number): number {
  let nearest = MINUTES_PER_WEEK;
  for (const boundary of schedule.weekMinutes.flat()) {
    const ahead = (((boundary - minute) % MINUTES_PER_WEEK) + MINUTES_PER_WEEK) % MINUTES_PER_WEEK;
    if (ahead > 0 && ahead < nearest) nearest = ahead;
  }
  return nearest;
}

/**
 * The first instant after `epochMs` at which the schedule starts or stops recording (epoch ms), or
 * undefined when it never does. The state can only change at a UTC minute where the local minute of the
 * week reaches a range boundary, or where the zone's offset changes: between two such instants it holds.
 */
export function nextChange(schedule: CompiledSchedule, epochMs: number): number | undefined {
  if (coversWholeWeek(schedule) || schedule.weekMinutes.length === 0) return undefined;
  let at = Math.floor(epochMs / 60_000) * 60_000;
  let clock = wallClock(schedule.timeZone, at);
  const recording = recordsAtMinute(schedule, minuteOfWeek(clock));
  const limit = at + SEARCH_LIMIT_MINUTES * 60_000;
  while (at < limit) {
    let next = at + minutesToNextBoundary(schedule, minuteOfWeek(clock)) * 60_000;
    let nextClock = wallClock(schedule.timeZone, next);
    if (nextClock.offsetMinutes !== clock.offsetMinutes) {
      // The offset changed on the way: find the minute it did, and look at the wall clock from there.
      let before = at;
      while (next - before > 60_000) {
        const middle = before + Math.floor((next - before) / 120_000) * 60_000;
        if (wallClock(schedule.timeZone, middle).offsetMinutes === clock.offsetMinutes) before = middle;
        else next = middle;
      }
      nextClock = wallClock(schedule.timeZone, next);
    }
    if (next > limit) return undefined;
    if (recordsAtMinute(schedule, minuteOfWeek(nextClock)) !== recording) return next;
    at = next;
    clock = nextClock;
  }
  return undefined;
}

export interface ScheduleState {
  readonly recording: boolean;
  /** When that changes (epoch ms); undefined when it never does. */
  readonly until?: number;
  /** "off schedule until 07:00 (Europe/Berlin)", "recording until Mon 19:00 (Europe/Berlin)". */
  readonly text: string;
}

/** Whether the schedule records at `epochMs`, until when, in the words the gateway logs. */
export function scheduleState(schedule: CompiledSchedule, epochMs: number): ScheduleState {
  const recording = isRecording(schedule, epochMs);
  const until = nextChange(schedule, epochMs);
  const what = recording ? 'recording' : 'off schedule';
  if (until === undefined) return { recording, text: `${what} (the schedule never changes)` };
  const clock = wallClock(schedule.timeZone, until);
  const time = `${pad(clock.hour)}:${pad(clock.minute)}`;
  // Within a day the time alone is clear; further ahead the weekday goes with it.
  const when = until - epochMs < 24 * 3600_000 ? time : `${capitalized(DAY_NAMES[clock.weekday])} ${time}`;
  return { recording, until, text: `${what} until ${when} (${schedule.timeZone})` };
}

function pad(value: number): string {
  return String(value).padStart(2, '0');
}

function capitalized(text: string): string {
  return text[0].toUpperCase() + text.slice(1);
}

/** A change of a zone's UTC offset: from `at` (epoch ms) on, local time is UTC + `offsetMinutes`. */
export interface OffsetChange {
  readonly at: number;
  readonly offsetMinutes: number;
}

/**
 * The zone's UTC offset at `fromMs` and every change of it until `toMs`, from the time-zone database
 * (Intl). Offsets change at most a few times a year, never twice within a day: days are stepped, and
 * each change is found to the minute.
 */
export function utcOffsets(timeZone: string, fromMs: number, toMs: number): OffsetChange[] {
  const offsetAt = (at: number) => wallClock(timeZone, at).offsetMinutes;
  const changes: OffsetChange[] = [{ at: fromMs, offsetMinutes: offsetAt(fromMs) }];
  const day = 24 * 3600_000;
  for (let at = fromMs; at < toMs; at += day) {
    const next = Math.min(at + day, toMs);
    const before = changes[changes.length - 1].offsetMinutes;
    if (offsetAt(next) === before) continue;
    let low = at;
    let high = next;
    while (high - low > 60_000) {
      const middle = low + Math.floor((high - low) / 120_000) * 60_000;
      if (offsetAt(middle) === before) low = middle;
      else high = middle;
    }
    changes.push({ at: high, offsetMinutes: offsetAt(high) });
  }
  return changes;
}
