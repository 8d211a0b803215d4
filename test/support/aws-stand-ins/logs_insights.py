"""The part of the CloudWatch Logs Insights query language that the CloudWatch Logs stand-in (logs.py) answers,
evaluated over the events it holds as Logs Insights evaluates it:

    fields ... | parse @message /regex with (?<named>groups)/ | filter <field> like /regex/ | filter ispresent(x)
    | stats latest(x) as a, max(@timestamp) as b, count(*) as c ... by y | sort f desc | limit n | display ...

(`and` joins filter conditions; `(?i)` at the start of a regex makes it case-insensitive.) Any other command is
refused with the error Logs Insights gives, MalformedQueryException. Result rows are lists of
{"field", "value"}; times are written as Logs Insights writes them, `2026-12-01 10:05:03.123` (UTC).
"""

import re
import time


class MalformedQuery(Exception):
    pass


class Timestamp(int):
    """Epoch milliseconds that print as Logs Insights prints @timestamp."""

    def __str__(self):
        seconds, millis = divmod(int(self), 1000)
        return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}"


def run_query(query, events):
    """Rows for `query` over `events` ({"timestamp" (ms), "message", "stream"})."""
    rows = [{"@timestamp": Timestamp(e["timestamp"]), "@message": e["message"], "@logStream": e["stream"]} for e in events]
    display, limit = None, 1000
    for command in split_commands(query):
        verb, _, rest = command.partition(" ")
        rest = rest.strip()
        if verb in ("fields", "display"):
            display = [field.strip() for field in rest.split(",")]
        elif verb == "parse":
            rows = parse(rows, rest)
        elif verb == "filter":
            test = condition(rest)
            rows = [row for row in rows if test(row)]
        elif verb == "stats":
            rows, display = stats(rows, rest)
        elif verb == "sort":
            field, _, how = rest.partition(" ")
            rows = sorted(rows, key=lambda row: row.get(field, ""), reverse=how.strip() != "asc")
        elif verb == "limit":
            limit = int(rest)
        else:
            raise MalformedQuery(f'unsupported command "{verb}" in the stand-in')
    fields = display or ["@timestamp", "@message"]
    return [[{"field": f, "value": str(row[f])} for f in fields if row.get(f) is not None] for row in rows[:limit]]


def split_commands(query):
    """Commands are separated by `|` outside regex literals."""
    commands, current, in_regex, escaped = [], "", False, False
    for char in query:
        if escaped:
            current, escaped = current + char, False
            continue
        if char == "\\" and in_regex:
            current, escaped = current + char, True
            continue
        if char == "/":
            in_regex = not in_regex
        if char == "|" and not in_regex:
            commands.append(current.strip())
            current = ""
        else:
            current += char
    commands.append(current.strip())
    return [command for command in commands if command]


def regex(literal):
    match = re.fullmatch(r"/(.*)/", literal.strip(), re.S)
    if not match:
        raise MalformedQuery(f"expected a /regex/, got {literal}")
    pattern = match.group(1)
    flags = re.I if pattern.startswith("(?i)") else 0
    # Logs Insights names groups (?<name>...); Python spells them (?P<name>...).
    return re.compile(re.sub(r"\(\?<(\w+)>", r"(?P<\1>", pattern[4:] if flags else pattern), flags)


def parse(rows, rest):
    match = re.fullmatch(r"(@?\w+)\s+(/.*/)", rest, re.S)
    if not match:
        raise MalformedQuery(f"parse {rest}")
    field, pattern = match.group(1), regex(match.group(2))
    out = []
    for row in rows:
        found = pattern.search(str(row.get(field, "")))
        groups = {name: value for name, value in (found.groupdict() if found else {}).items() if value is not None}
        out.append({**row, **groups})
    return out


def condition(text):
    tests = []
    for part in re.split(r"\s+and\s+(?![^/]*/)", text):
        part = part.strip()
        present = re.fullmatch(r"ispresent\((@?\w+)\)", part)
        like = re.fullmatch(r"(@?\w+)\s+like\s+(/.*/)", part, re.S)
        if present:
            tests.append(lambda row, field=present.group(1): row.get(field) is not None)
        elif like:
            tests.append(lambda row, f=like.group(1), p=regex(like.group(2)): row.get(f) is not None and p.search(str(row[f])))
        else:
            raise MalformedQuery(f'unsupported filter "{part}" in the stand-in')
    return lambda row: all(test(row) for test in tests)


def stats(rows, rest):
    match = re.fullmatch(r"(.*?)(?:\s+by\s+([\w@,\s]+))?", rest, re.S)
    by = [field.strip() for field in (match.group(2) or "").split(",") if field.strip()]
    aggregates = []
    for text in re.split(r",(?![^(]*\))", match.group(1)):
        parsed = re.fullmatch(r"\s*(\w+)\((\*|@?\w+)\)(?:\s+as\s+(\w+))?\s*", text)
        if not parsed:
            raise MalformedQuery(f'unsupported aggregate "{text}" in the stand-in')
        function, field, name = parsed.groups()
        aggregates.append((function, field, name or f"{function}({field})"))
    groups = {}
    for row in rows:
        groups.setdefault(tuple(row.get(field) for field in by), []).append(row)
    out = []
    for key, members in groups.items():
        members = sorted(members, key=lambda row: row["@timestamp"])
        result = dict(zip(by, key))
        for function, field, name in aggregates:
            values = [row[field] for row in members if row.get(field) is not None]
            if function == "count":
                result[name] = len(members) if field == "*" else len(values)
            elif function in ("latest", "earliest", "max", "min") and values:
                result[name] = {"latest": values[-1], "earliest": values[0], "max": max(values), "min": min(values)}[function]
            elif function not in ("latest", "earliest", "max", "min"):
                raise MalformedQuery(f"unsupported function {function} in the stand-in")
        out.append(result)
    return out, by + [name for _, _, name in aggregates]
