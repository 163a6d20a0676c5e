"""An import-only stand-in for torch, for obp (benches/peers/ope_vs_obp.sh).

obp 0.5.7 imports torch when it loads (utils.py, its neural policies), but the
estimators the comparison uses (DM, IPS, SNIPS, DR, RegressionModel, BernoulliTS)
never call it. This module lets `import obp` succeed without a multi-GB install;
anything that actually tries to build a torch object raises ImportError.
"""

import sys
import types


class _Meta(type):
    def __getattr__(cls, name):
        # Dunder look-ups (dataclasses ask for __dataclass_fields__) must miss.
        if name.startswith("__"):
            raise AttributeError(name)
        return _Stub

    def __getitem__(cls, key):
        return _Stub

    def __or__(cls, other):
        return _Stub

    def __ror__(cls, other):
        return _Stub


class _Stub(metaclass=_Meta):
    def __init__(self, *args, **kwargs):
        raise ImportError("torch is only a stand-in here (benches/peers/torch_stub)")


def __getattr__(name):
    return _Stub


_parent = sys.modules[__name__]
for _name in ("nn", "nn.functional", "optim", "utils", "utils.data"):
    _mod = types.ModuleType(f"torch.{_name}")
    _mod.__getattr__ = lambda name: _Stub
    sys.modules[f"torch.{_name}"] = _mod
    _owner = _parent
    *_path, _last = _name.split(".")
    for _p in _path:
        _owner = getattr(_owner, _p)
    setattr(_owner, _last, _mod)
