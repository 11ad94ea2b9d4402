"""Renders Home Assistant MQTT value templates against one message, with Jinja2 as HA runs it
(a sandboxed environment; HA adds filters of its own, but our templates use only Jinja2's
built-ins), so the tests check our templates with the engine HA uses, not with our own reading
of them. Stricter than HA in one way: a missing key fails here (StrictUndefined), where HA logs
a warning and renders "", which a numeric sensor then silently ignores, leaving a stale value.

stdin: {"payload": "<message text>", "templates": {"<id>": "<template>"}}
stdout: {"<id>": {"value": "<rendered, stripped as HA strips it>"} or {"error": "<why>"}}"""
import json
import sys

from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

request = json.load(sys.stdin)
payload = request['payload']
variables = {'value': payload, 'value_json': json.loads(payload)}
env = ImmutableSandboxedEnvironment(undefined=StrictUndefined)
out = {}
for key, template in request['templates'].items():
    try:
        out[key] = {'value': env.from_string(template).render(**variables).strip()}
    except Exception as error:  # any template failure is a finding, reported per template
        out[key] = {'error': f'{type(error).__name__}: {error}'}
json.dump(out, sys.stdout)
