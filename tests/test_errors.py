"""Every AimakError pickles to itself (class, message, attributes): Prefect keeps a failed run's
exception in its state and worker processes send it back pickled."""

from __future__ import annotations

import pickle

import cloudpickle
import pytest

import aimak.errors as errors
from aimak.errors import AimakError, DefinitionError, Issue, WarehouseLockedError

ISSUES = [Issue("forms/indicators.yaml", 12, "services[0].code", "wat", "is not upper case", "write WAT"),
          Issue("forms/geography.csv", None, "file", "x", "is missing", "give the path")]
# the errors whose constructor takes more than a message; any other subclass gets one
SPECIAL = {DefinitionError: lambda: DefinitionError(ISSUES),
           WarehouseLockedError: lambda: WarehouseLockedError("in use by process 7", pid=7)}


def _every_subclass(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_every_subclass(sub)]
    return found


def _example(cls: type[AimakError]) -> AimakError:
    return SPECIAL[cls]() if cls in SPECIAL else cls(f"{cls.__name__}: what failed. Fix: this.")


ALL = [AimakError, *sorted({c for c in _every_subclass(AimakError) if c.__module__ == errors.__name__},
                           key=lambda c: c.__name__)]


@pytest.mark.parametrize("dumps", [pickle.dumps, cloudpickle.dumps], ids=["pickle", "cloudpickle"])
@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_every_error__pickle_round_trip_keeps_class_message_and_attributes(cls, dumps):
    original = _example(cls)
    restored = pickle.loads(dumps(original))
    assert type(restored) is cls
    assert str(restored) == str(original) and restored.args == original.args
    assert vars(restored) == vars(original)


def test_definition_error__restored_lists_its_mistakes_not_one_per_character():
    restored = pickle.loads(pickle.dumps(DefinitionError(ISSUES)))
    assert restored.issues == ISSUES
    assert str(restored).startswith("the study definition has 2 mistakes; nothing was written:")


def test_the_list_of_errors__covers_every_class_in_the_module():
    declared = {value for value in vars(errors).values()
                if isinstance(value, type) and issubclass(value, AimakError)}
    assert declared == set(ALL)
