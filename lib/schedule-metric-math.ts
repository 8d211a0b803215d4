import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { CompiledSchedule, MINUTES_PER_WEEK, utcOffsets } from './recording-schedule';

/**
 * A recording schedule in CloudWatch metric math, for the alarms and the dashboard: a time series that is
 * 1 in the minutes the camera records and 0 outside them, computed from each datapoint's own timestamp.
 *
 * CloudWatch knows no time zone: its time functions (HOUR, DAY, EPOCH) are UTC. A fixed UTC offset would be
 * an hour wrong half the year, so the zone's offset is written into the expression as a step function of
 * EPOCH: its offset at SCHEDULE_MATH_FROM and every change until SCHEDULE_MATH_UNTIL, from the time-zone
 * database (Intl) at synth. The local minute of the week then decides, exactly as the gateway decides
 * (lib/recording-schedule.ts, userdata/recording_schedule.py). EPOCH returns a value for every period
 * whether the metric has data or not, so minutes without frames stay visible to the alarm.
 *
 * After SCHEDULE_MATH_UNTIL the offset stays the last one written: deploying again with a newer version
 * of this project moves the horizon. A zone whose rules change (a country ends daylight saving) needs a
 * deploy with a Node.js that knows the new rules.
 */

/** The changes of a zone's offset the expressions carry: fixed, so that a synth is the same every day. */
export const SCHEDULE_MATH_FROM = Date.UTC(2026, 0, 1);
export const SCHEDULE_MATH_UNTIL = Date.UTC(2046, 0, 1);

/** CloudWatch refuses an expression over 2,048 characters: longer sums are split into several. */
const MAX_EXPRESSION_LENGTH = 2000;
/** 1970-01-01, minute 0 of EPOCH, was a Thursday: three days after a Monday 00:00. */
const EPOCH_MINUTE_OF_WEEK = 3 * 24 * 60;

export interface ScheduleMath {
  /** 1 in the minutes the schedule records, 0 outside them. */
  readonly recording: cloudwatch.MathExpression;
  /** The metric's value in the schedule's minutes (0 when it has none), 1 outside them. */
  readonly valueWhileRecording: cloudwatch.MathExpression;
}

/**
 * `metric` as a schedule sees it. `id` prefixes the expressions' ids (letters and digits, starting with a
 * lowercase letter), unique within one alarm or graph.
 */
export function scheduleMath(
  schedule: CompiledSchedule,
  metric: cloudwatch.IMetric,
  label: string,
): ScheduleMath {
  const period = Duration.minutes(1);
  const math = (expression: string, usingMetrics: Record<string, cloudwatch.IMetric>, mathLabel?: string) =>
    new cloudwatch.MathExpression({ expression, usingMetrics, period, label: mathLabel });

  const epoch = math('EPOCH(frames)', { frames: metric });
  const offsets = utcOffsets(schedule.timeZone, SCHEDULE_MATH_FROM, SCHEDULE_MATH_UNTIL);
  const offsetTerms = offsets.slice(1).map((change, i) => {
    const delta = change.offsetMinutes - offsets[i].offsetMinutes;
    return `${delta < 0 ? '-' : '+'}${Math.abs(delta)}*(epoch>=${change.at / 1000})`;
  });
  const offsetParts = chunked(offsetTerms, (terms) => terms.join(''));
  const offsetIds = Object.fromEntries(
    offsetParts.map((expression, i) => [`offset${i}`, math(`0${expression}`, { epoch })]),
  );
  // Minutes since 1970 on the zone's wall clock, then the minute of the week (0 = Monday 00:00).
  const localMinute = math(
    `FLOOR(epoch/60)+${offsets[0].offsetMinutes}${Object.keys(offsetIds)
      .map((id) => `+${id}`)
      .join('')}`,
    {
      epoch,
      ...offsetIds,
    },
  );
  const week = math(
    `(local+${EPOCH_MINUTE_OF_WEEK})-${MINUTES_PER_WEEK}*FLOOR((local+${EPOCH_MINUTE_OF_WEEK})/${MINUTES_PER_WEEK})`,
    { local: localMinute },
  );
  const rangeTerms = schedule.weekMinutes.map(([start, end]) => `(week>=${start} AND week<${end})`);
  const rangeParts = chunked(rangeTerms, (terms) => terms.join(' OR '));
  const recording =
    rangeParts.length === 1
      ? math(rangeParts[0], { week }, `recording (${schedule.timeZone})`)
      : math(
          rangeParts.map((_, i) => `part${i}`).join(' OR '),
          Object.fromEntries(rangeParts.map((expression, i) => [`part${i}`, math(expression, { week })])),
          `recording (${schedule.timeZone})`,
        );
  return {
    recording,
    // IF(TS, TS, S): the metric where the condition holds (0 where it has no datapoint), the scalar elsewhere.
    // The metric under one id in both places: the alarm reads it (and CloudWatch bills it) once.
    valueWhileRecording: math('IF(recording, frames, 1)', { recording, frames: metric }, label),
  };
}

/** Joins terms into as few expressions as fit CloudWatch's length limit. */
function chunked(terms: readonly string[], join: (terms: string[]) => string): string[] {
  const parts: string[][] = [[]];
  for (const term of terms) {
    const current = parts[parts.length - 1];
    if (current.length > 0 && join([...current, term]).length > MAX_EXPRESSION_LENGTH) parts.push([term]);
    else current.push(term);
  }
  return parts.filter((part) => part.length > 0).map(join);
}
