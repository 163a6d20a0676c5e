"""The examples in the docstrings run (files they would need are marked +SKIP)."""

import doctest

import pytest

import maitre
from maitre import _maitre


def examples():
    finder = doctest.DocTestFinder(exclude_empty=True)
    tests = finder.find(maitre, "maitre", globs={"maitre": maitre})
    for name in dir(_maitre):
        obj = getattr(_maitre, name)
        if not name.startswith("_") and callable(obj) and getattr(obj, "__doc__", None):
            tests += finder.find(obj, f"_maitre.{name}", globs={"maitre": maitre})
    return [t for t in tests if t.examples]


@pytest.mark.parametrize("test", examples(), ids=lambda t: t.name)
def test_docstring_example(test):
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, test.name
