import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  compileSchedule,
  CompiledSchedule,
  isRecording,
  nextChange,
  parseClock,
  parseDays,
  recordedHoursPerWeek,
  RecordingSchedule,
  scheduleState,
  utcOffsets,
} from '../lib/recording-schedule';

/**
 * The window arithmetic of lib/recording-schedule.ts against Node's time-zone database (Intl): the
 * hand-worked cases that the gateway's userdata/recording_schedule.py is tested against too, and a
 * minute scan as the oracle of nextChange around daylight-saving changes.
 */

interface Case {
  readonly name: string;
  readonly schedule: RecordingSchedule;
  readonly weekMinutes: [number, number][];
  readonly instants: { at: string; recording: boolean; next: string | null; text: string }[];
}
const CASES: Case[] = JSON.parse(
  fs.readFileSync(path.join(__dirname, 'fixtures', 'recording-schedule-cases.json'), 'utf8'),
).schedules;

describe.each(CASES)('$name', (c) => {
  test('compiles to the minute ranges worked out by hand', () => {
    expect(compileSchedule(c.schedule)).toEqual({
      timeZone: c.schedule.timeZone,
      weekMinutes: c.weekMinutes,
    });
  });

  test.each(c.instants)('at $at: $text', (instant) => {
    const compiled = compileSchedule(c.schedule);
    const at = Date.parse(instant.at);
    expect(scheduleState(compiled, at)).toEqual({
      recording: instant.recording,
      ...(instant.next ? { until: Date.parse(instant.next) } : {}),
      text: instant.text,
    });
  });
});

/** The oracle: every fifth minute, then every minute of the last five (every window and gap here is longer). */
function scannedNextChange(schedule: CompiledSchedule, start: number): number | undefined {
  const at = Math.floor(start / 60_000) * 60_000;
  const state = isRecording(schedule, at);
  for (let step = 5; step <= 15 * 24 * 60; step += 5) {
    if (isRecording(schedule, at + step * 60_000) !== state) {
      for (let minute = step - 4; ; minute++) {
        if (isRecording(schedule, at + minute * 60_000) !== state) return at + minute * 60_000;
      }
    }
  }
  return undefined;
}

describe('nextChange against a minute scan, in the days around daylight-saving changes', () => {
  const starts: Record<string, string[]> = {
    'Europe/Berlin': ['2026-03-28T00:00:00Z', '2026-10-24T00:00:00Z'],
    'America/New_York': ['2026-03-07T00:00:00Z', '2026-10-31T00:00:00Z'],
    'Australia/Lord_Howe': ['2026-04-04T00:00:00Z', '2026-10-03T00:00:00Z'],
  };
  test.each(Object.entries(starts))('%s', (zone, days) => {
    let checked = 0;
    for (const c of CASES) {
      const schedule = compileSchedule({ ...c.schedule, timeZone: zone });
      for (const day of days) {
        for (let minutes = 0; minutes < 2 * 24 * 60; minutes += 353) {
          const at = Date.parse(day) + minutes * 60_000 + 17_000;
          expect([c.name, at, nextChange(schedule, at)]).toEqual([
            c.name,
            at,
            scannedNextChange(schedule, at),
          ]);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(200);
  });
});

describe('parsing the windows', () => {
  test.each([
    ['mon-fri', [0, 1, 2, 3, 4]],
    ['sat,sun', [5, 6]],
    ['fri-mon', [0, 4, 5, 6]],
    ['daily', [0, 1, 2, 3, 4, 5, 6]],
    [' Mon , WED-thu ', [0, 2, 3]],
    ['sun', [6]],
  ])('days %j', (text, days) => {
    expect(parseDays(text)).toEqual(days);
  });

  test.each(['', 'monday', 'mon-fry', 'mon--fri', 'mon-tue-wed', 'weekdays', 'mon,'])(
    'days %j is refused',
    (text) => {
      expect(parseDays(text)).toMatch(
        /use day names \(mon, tue, wed, thu, fri, sat, sun\), ranges like "mon-fri"/,
      );
    },
  );

  test('clock times', () => {
    expect([parseClock('00:00'), parseClock('07:30'), parseClock('23:59')]).toEqual([0, 450, 1439]);
    expect([parseClock('24:00'), parseClock('24:00', true)]).toEqual([undefined, 1440]);
    for (const text of ['7:00', '07:60', '25:00', '24:01', '0700', '07:00:00', '']) {
      expect([text, parseClock(text, true)]).toEqual([text, undefined]);
    }
  });

  test('hours a week', () => {
    const shop = compileSchedule(CASES[0].schedule);
    expect(recordedHoursPerWeek(shop)).toBe(60);
    expect(recordedHoursPerWeek(compileSchedule(CASES[1].schedule))).toBe(16);
  });
});

test("utcOffsets lists a zone's offset changes to the minute", () => {
  const from = Date.UTC(2026, 0, 1);
  const to = Date.UTC(2027, 0, 1);
  expect(utcOffsets('Europe/Berlin', from, to)).toEqual([
    { at: from, offsetMinutes: 60 },
    { at: Date.parse('2026-03-29T01:00:00Z'), offsetMinutes: 120 },
    { at: Date.parse('2026-10-25T01:00:00Z'), offsetMinutes: 60 },
  ]);
  // Lord Howe Island moves its clock by half an hour.
  expect(utcOffsets('Australia/Lord_Howe', from, to)).toEqual([
    { at: from, offsetMinutes: 660 },
    { at: Date.parse('2026-04-04T15:00:00Z'), offsetMinutes: 630 },
    { at: Date.parse('2026-10-03T15:30:00Z'), offsetMinutes: 660 },
  ]);
  expect(utcOffsets('Asia/Kolkata', from, to)).toEqual([{ at: from, offsetMinutes: 330 }]);
});
