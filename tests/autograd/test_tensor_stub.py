"""``jitgrad/autograd/tensor.pyi`` lists every Tensor method, the op registry's included, as
they are: regenerate it with ``python -m tests.helpers.tensor_stub`` after adding an op."""
from jitgrad.ops.registry import SPECS
from tests.helpers.tensor_stub import STUB, render


def test_the_stub_is_what_the_class_and_registry_give_today():
    assert STUB.read_text() == render(), "run: python -m tests.helpers.tensor_stub"


def test_every_registered_method_and_property_is_in_the_stub():
    text = STUB.read_text()
    missing = [name for spec in SPECS.values() for name in (*spec.methods, *spec.properties)
               if f"def {name}(" not in text]
    assert missing == []
