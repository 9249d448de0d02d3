"""Prometheus text exposition parsed into {(name, labels): value} for tests."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sample's value; KeyError (naming what exists) when it is absent."""
    key = (name, frozenset(labels.items()))
    if key not in samples:
        near = sorted(str(dict(lbl)) for n, lbl in samples if n == name)
        raise KeyError(f"{name}{labels} not exported; {name} has {near or 'no samples'}")
    return samples[key]
