import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';

/** What the benchmark reads about a process from /proc (Linux). */

export const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));

/** CPU time used so far (utime + stime), in clock ticks. */
export function cpuTicks(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

function statusKb(pid: number, field: string): number {
  return Number(
    new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1],
  );
}

/** Peak resident set (VmHWM). */
export const peakRssKb = (pid: number): number => statusKb(pid, 'VmHWM');

/** Resident set now (VmRSS): counts every shared library page in full, in every process. */
export const rssKb = (pid: number): number => statusKb(pid, 'VmRSS');

/**
 * Proportional set size now: shared pages divided among the processes that map them, so that the sum over
 * processes is what they take from the machine. The per-camera figure to size a gateway with many cameras.
 */
export function pssKb(pid: number): number {
  return Number(/^Pss:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))![1]);
}

/** Bytes received so far per process over its TCP connections to the camera's port (its RTSP sessions). */
export function bytesFromCameraByPid(port: number): Map<number, number> {
  const report = execFileSync('ss', ['-tinpH', 'dst', `127.0.0.1:${port}`], { encoding: 'utf8' });
  const bytes = new Map<number, number>();
  let pid: number | undefined;
  for (const line of report.split('\n')) {
    const owner = /pid=(\d+)/.exec(line);
    if (owner) pid = Number(owner[1]);
    const received = /bytes_received:(\d+)/.exec(line);
    if (received && pid !== undefined) bytes.set(pid, (bytes.get(pid) ?? 0) + Number(received[1]));
  }
  return bytes;
}

export function loadAverage(): string {
  return os
    .loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
