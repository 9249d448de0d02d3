"""Each library package says what it offers in ``__all__``, and offers just that."""

from __future__ import annotations

import inspect
from types import ModuleType

import pytest

import collector
import ivr


def bound_names(package: ModuleType) -> set[str]:
    """The public names the package's ``__init__`` binds, its submodules aside."""
    return {
        name
        for name, value in vars(package).items()
        if not name.startswith("_") and name != "annotations" and not inspect.ismodule(value)
    }


@pytest.mark.parametrize("package", [ivr, collector], ids=lambda p: p.__name__)
def test_all_lists_exactly_what_the_package_binds(package: ModuleType) -> None:
    exported = package.__all__
    assert len(exported) == len(set(exported))
    assert set(exported) == bound_names(package)


def test_a_name_missing_from_all_shows() -> None:
    package = ModuleType("example")
    vars(package).update(
        __all__=["kept"], kept=1, forgotten=2, submodule=ModuleType("example.submodule")
    )
    assert bound_names(package) - set(package.__all__) == {"forgotten"}
