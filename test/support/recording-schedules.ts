import { RecordingSchedule } from '../../lib/recording-schedule';

/** Schedules the tests share: a shop open on weekdays in Berlin (60 of 168 h), and nights in UTC. */
export const SHOP_HOURS: RecordingSchedule = {
  timeZone: 'Europe/Berlin',
  windows: [{ days: 'mon-fri', from: '07:00', to: '19:00' }],
};
export const NIGHTS: RecordingSchedule = {
  timeZone: 'UTC',
  windows: [{ days: 'daily', from: '22:00', to: '06:00' }],
};
