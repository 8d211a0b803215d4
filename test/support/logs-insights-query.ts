/**
 * The part of the CloudWatch Logs Insights query language that the CloudWatch Logs stand-in
 * (cli-aws-stand-ins.ts) answers, evaluated over the log events it holds, as Logs Insights evaluates it:
 *   fields ... | parse @message /regex with (?<named>groups)/ | filter <field> like /regex/ | filter ispresent(x)
 *   | stats latest(x) as a, max(@timestamp) as b, count(*) as c ... by y | sort f desc | limit n | display ...
 * (`and` joins filter conditions; `(?i)` at the start of a regex makes it case-insensitive). Any other
 * command is refused with the error Logs Insights gives, MalformedQueryException.
 */

export interface LogEvent {
  /** Epoch milliseconds. */
  readonly timestamp: number;
  readonly message: string;
  readonly logStream: string;
}

export type ResultRow = { field: string; value: string }[];

export class MalformedQuery extends Error {}

type Value = string | number | Date;
type Row = Record<string, Value | undefined>;

export function runLogsInsightsQuery(query: string, events: readonly LogEvent[]): ResultRow[] {
  let rows: Row[] = events.map((event) => ({
    '@timestamp': new Date(event.timestamp),
    '@message': event.message,
    '@logStream': event.logStream,
  }));
  let display: string[] | undefined;
  let limit = 1000;
  for (const command of splitCommands(query)) {
    const [verb] = command.split(/\s+/, 1);
    const rest = command.slice(verb.length).trim();
    if (verb === 'fields') display = rest.split(',').map((field) => field.trim());
    else if (verb === 'display') display = rest.split(',').map((field) => field.trim());
    else if (verb === 'parse') rows = parse(rows, rest);
    else if (verb === 'filter') rows = rows.filter((row) => condition(rest)(row));
    else if (verb === 'stats') {
      const result = stats(rows, rest);
      rows = result.rows;
      display = result.fields;
    } else if (verb === 'sort') rows = sort(rows, rest);
    else if (verb === 'limit') limit = Number(rest);
    else throw new MalformedQuery(`unsupported command "${verb}" in the stand-in`);
  }
  const fields = display ?? ['@timestamp', '@message'];
  return rows
    .slice(0, limit)
    .map((row) =>
      fields
        .filter((field) => row[field] !== undefined)
        .map((field) => ({ field, value: format(row[field]!) })),
    );
}

/** Commands are separated by `|` outside regex literals. */
function splitCommands(query: string): string[] {
  const commands: string[] = [];
  let current = '';
  let inRegex = false;
  for (let i = 0; i < query.length; i += 1) {
    const char = query[i];
    if (char === '\\' && inRegex) {
      current += char + (query[i + 1] ?? '');
      i += 1;
      continue;
    }
    if (char === '/') inRegex = !inRegex;
    if (char === '|' && !inRegex) {
      commands.push(current.trim());
      current = '';
    } else current += char;
  }
  if (current.trim()) commands.push(current.trim());
  return commands.filter(Boolean);
}

function regex(literal: string): RegExp {
  const match = /^\/(.*)\/$/s.exec(literal.trim());
  if (!match) throw new MalformedQuery(`expected a /regex/, got ${literal}`);
  const caseless = match[1].startsWith('(?i)');
  return new RegExp(caseless ? match[1].slice(4) : match[1], caseless ? 'i' : '');
}

function parse(rows: Row[], rest: string): Row[] {
  const match = /^(@?\w+)\s+(\/.*\/)$/s.exec(rest);
  if (!match) throw new MalformedQuery(`parse ${rest}`);
  const pattern = regex(match[2]);
  return rows.map((row) => {
    const groups = pattern.exec(String(row[match[1]] ?? ''))?.groups ?? {};
    return {
      ...row,
      ...Object.fromEntries(Object.entries(groups).filter(([, value]) => value !== undefined)),
    };
  });
}

function condition(text: string): (row: Row) => boolean {
  const parts = text.split(/\s+and\s+(?![^/]*\/)/);
  const tests = parts.map((part) => {
    const present = /^ispresent\((@?\w+)\)$/.exec(part.trim());
    if (present) return (row: Row) => row[present[1]] !== undefined;
    const like = /^(@?\w+)\s+like\s+(\/.*\/)$/s.exec(part.trim());
    if (like) {
      const pattern = regex(like[2]);
      return (row: Row) => row[like[1]] !== undefined && pattern.test(String(row[like[1]]));
    }
    throw new MalformedQuery(`unsupported filter "${part}" in the stand-in`);
  });
  return (row) => tests.every((test) => test(row));
}

function stats(rows: Row[], rest: string): { rows: Row[]; fields: string[] } {
  const match = /^(.*?)(?:\s+by\s+([\w@,\s]+))?$/s.exec(rest)!;
  const groupBy = (match[2] ?? '')
    .split(',')
    .map((field) => field.trim())
    .filter(Boolean);
  const aggregates = match[1].split(/,(?![^(]*\))/).map((text) => {
    const parsed = /^\s*(\w+)\((\*|@?\w+)\)(?:\s+as\s+(\w+))?\s*$/.exec(text);
    if (!parsed) throw new MalformedQuery(`unsupported aggregate "${text}" in the stand-in`);
    return { fn: parsed[1], field: parsed[2], name: parsed[3] ?? `${parsed[1]}(${parsed[2]})` };
  });
  const groups = new Map<string, Row[]>();
  for (const row of rows) {
    const key = JSON.stringify(groupBy.map((field) => row[field]));
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  const result = [...groups.values()].map((members) => {
    const out: Row = Object.fromEntries(groupBy.map((field) => [field, members[0][field]]));
    const byTime = [...members].sort((a, b) => Number(a['@timestamp']!) - Number(b['@timestamp']!));
    for (const { fn, field, name } of aggregates) {
      const values = byTime.map((row) => row[field]).filter((value) => value !== undefined);
      if (fn === 'count') out[name] = field === '*' ? members.length : values.length;
      else if (fn === 'latest') out[name] = values[values.length - 1];
      else if (fn === 'earliest') out[name] = values[0];
      else if (fn === 'max') out[name] = values.reduce((a, b) => (order(b!, a!) > 0 ? b : a), values[0]);
      else if (fn === 'min') out[name] = values.reduce((a, b) => (order(b!, a!) < 0 ? b : a), values[0]);
      else throw new MalformedQuery(`unsupported function ${fn} in the stand-in`);
    }
    return out;
  });
  return { rows: result, fields: [...groupBy, ...aggregates.map((aggregate) => aggregate.name)] };
}

function sort(rows: Row[], rest: string): Row[] {
  const [field, how] = rest.split(/\s+/);
  const direction = how === 'asc' ? 1 : -1;
  return [...rows].sort((a, b) => direction * order(a[field]!, b[field]!));
}

function order(a: Value, b: Value): number {
  const [x, y] = [a instanceof Date ? a.getTime() : a, b instanceof Date ? b.getTime() : b];
  return x > y ? 1 : x < y ? -1 : 0;
}

/** Timestamps come back as Logs Insights writes them: `2026-12-01 10:05:03.123` (UTC). */
function format(value: Value): string {
  return value instanceof Date ? value.toISOString().replace('T', ' ').replace('Z', '') : String(value);
}
