"""The typed surface: stubs match the native module; every public callable is documented."""

import ast
import inspect
from pathlib import Path

import maitre
from maitre import _maitre

STUB = Path(maitre.__file__).with_name("_maitre.pyi")


def stub_tree():
    return ast.parse(STUB.read_text())


def defined(body):
    names = set()
    for node in body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def public(names):
    return {n for n in names if not n.startswith("_")}


def test_stub_lists_exactly_the_native_module():
    assert public(defined(stub_tree().body)) == public(dir(_maitre))


def test_stub_lists_exactly_the_native_event_log_methods():
    (cls,) = [n for n in stub_tree().body if isinstance(n, ast.ClassDef) and n.name == "EventLog"]
    native = public(set(vars(_maitre.EventLog)))
    assert public(defined(cls.body)) == native
    assert "__len__" in defined(cls.body)


def test_stub_lists_exactly_the_native_class_members():
    stubbed = {n.name: n for n in stub_tree().body if isinstance(n, ast.ClassDef)}
    for name in ["ALS", "AlsModel", "Recommender", "NextBestOffer"]:
        native = {n for n in vars(getattr(_maitre, name)) if not n.startswith("__")}
        assert {n for n in defined(stubbed[name].body) if not n.startswith("__")} == native, name


def test_package_reexports():
    for name in maitre.__all__:
        assert hasattr(maitre, name), name
    assert issubclass(maitre.EventLog, _maitre.EventLog)
    assert maitre.MaitreError is _maitre.MaitreError
    assert maitre.__version__ == _maitre.__version__
    assert (Path(maitre.__file__).parent / "py.typed").exists()


def test_every_public_callable_is_documented():
    callables = [getattr(maitre, n) for n in maitre.__all__ if not n.endswith("Error")]
    callables += [
        getattr(maitre.EventLog, n)
        for n in dir(maitre.EventLog)
        if not n.startswith("_")
    ]
    callables += [
        getattr(cls, n)
        for cls in (maitre.ALS, maitre.AlsModel, maitre.Recommender, maitre.NextBestOffer, maitre.Decision)
        for n in dir(cls)
        if not n.startswith("_") and n != "has_customers"
    ]
    for obj in callables:
        if not callable(obj) or inspect.isclass(obj) and issubclass(obj, Exception):
            continue
        doc = inspect.getdoc(obj) or ""
        assert "Example" in doc, getattr(obj, "__qualname__", obj)
