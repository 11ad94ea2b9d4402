"""Parses a Prometheus text exposition from stdin with the official Python client's
parser and prints it as JSON, so the TypeScript tests can check our output against a
parser we did not write. NaN and the infinities are not JSON: they travel as strings."""
import json
import math
import sys

from prometheus_client.parser import text_string_to_metric_families


def value(v):
    if math.isnan(v):
        return 'NaN'
    if math.isinf(v):
        return '+Inf' if v > 0 else '-Inf'
    return v


families = [
    {
        'name': family.name,
        'type': family.type,
        'help': family.documentation,
        'samples': [
            {'name': s.name, 'labels': dict(s.labels), 'value': value(s.value)}
            for s in family.samples
        ],
    }
    for family in text_string_to_metric_families(sys.stdin.read())
]
json.dump(families, sys.stdout)
