/**
 * Evaluates the part of CloudWatch metric math that the gateway's alarms use (numbers, + - * /, comparisons,
 * AND/OR, FLOOR, EPOCH, IF), datapoint by datapoint, on a synthesized alarm's `Metrics` list: a test can ask
 * what an alarm would read at a given minute, with or without a datapoint of its metric. Rules as the
 * CloudWatch user guide gives them: comparisons give 1 or 0; EPOCH gives the datapoint's timestamp in
 * seconds whether or not the metric has a value there; IF(TS, TS, S) gives 0 where the condition holds and
 * the second argument has no datapoint.
 */

export interface AlarmMetricQuery {
  readonly Id: string;
  readonly Expression?: string;
  readonly MetricStat?: unknown;
  readonly ReturnData?: boolean;
}

type Value = number | undefined;

export function evaluateAlarm(
  queries: readonly AlarmMetricQuery[],
  epochSeconds: number,
  metricValue: Value,
): Value {
  const byId = new Map(queries.map((query) => [query.Id, query]));
  const cache = new Map<string, Value>();
  const valueOf = (id: string): Value => {
    if (cache.has(id)) return cache.get(id);
    const query = byId.get(id);
    if (!query) throw new Error(`no metric or expression "${id}"`);
    const value =
      query.Expression === undefined ? metricValue : evaluate(query.Expression, valueOf, epochSeconds);
    cache.set(id, value);
    return value;
  };
  const returned = queries.filter((query) => query.ReturnData !== false);
  if (returned.length !== 1) throw new Error(`${returned.length} queries return data; an alarm has one`);
  return valueOf(returned[0].Id);
}

function evaluate(expression: string, valueOf: (id: string) => Value, epochSeconds: number): Value {
  const tokens = expression.match(/\d+(?:\.\d+)?|[A-Za-z_][A-Za-z0-9_]*|>=|<=|==|!=|[-+*/(),<>]/g) ?? [];
  if (tokens.join('') !== expression.replace(/\s+/g, '')) throw new Error(`cannot read "${expression}"`);
  let at = 0;
  const peek = () => tokens[at];
  const take = (expected?: string) => {
    const token = tokens[at++];
    if (expected !== undefined && token !== expected)
      throw new Error(`expected ${expected} in "${expression}"`);
    return token;
  };
  const numeric = (value: Value) => value ?? 0;
  const orExpression = (): Value => {
    let left = andExpression();
    while (peek() === 'OR') {
      take();
      const right = andExpression();
      left = numeric(left) !== 0 || numeric(right) !== 0 ? 1 : 0;
    }
    return left;
  };
  const andExpression = (): Value => {
    let left = comparison();
    while (peek() === 'AND') {
      take();
      const right = comparison();
      left = numeric(left) !== 0 && numeric(right) !== 0 ? 1 : 0;
    }
    return left;
  };
  const comparison = (): Value => {
    const left = sum();
    const operator = peek();
    if (!['>=', '<=', '==', '!=', '>', '<'].includes(operator)) return left;
    take();
    const [a, b] = [numeric(left), numeric(sum())];
    const result = { '>=': a >= b, '<=': a <= b, '==': a === b, '!=': a !== b, '>': a > b, '<': a < b }[
      operator
    ];
    return result ? 1 : 0;
  };
  const sum = (): Value => {
    let left = product();
    while (peek() === '+' || peek() === '-') {
      const operator = take();
      const right = product();
      left = operator === '+' ? numeric(left) + numeric(right) : numeric(left) - numeric(right);
    }
    return left;
  };
  const product = (): Value => {
    let left = unary();
    while (peek() === '*' || peek() === '/') {
      const operator = take();
      const right = unary();
      left = operator === '*' ? numeric(left) * numeric(right) : numeric(left) / numeric(right);
    }
    return left;
  };
  const unary = (): Value => {
    if (peek() === '-') {
      take();
      return -numeric(unary());
    }
    return primary();
  };
  const primary = (): Value => {
    const token = take();
    if (token === '(') {
      const value = orExpression();
      take(')');
      return value;
    }
    if (/^\d/.test(token)) return Number(token);
    if (peek() === '(') {
      take('(');
      const args: Value[] = [orExpression()];
      while (peek() === ',') {
        take();
        args.push(orExpression());
      }
      take(')');
      switch (token) {
        case 'EPOCH':
          return epochSeconds;
        case 'FLOOR':
          return args[0] === undefined ? undefined : Math.floor(args[0]);
        case 'IF':
          if (numeric(args[0]) !== 0) return args[1] ?? 0;
          return args[2];
        default:
          throw new Error(`the evaluator does not know ${token}()`);
      }
    }
    return valueOf(token);
  };
  const value = orExpression();
  if (at !== tokens.length) throw new Error(`unexpected "${peek()}" in "${expression}"`);
  return value;
}
