"""State dicts that cross over between torch.nn and jitgrad.nn: a torch model's state dict,
saved to safetensors, loads into the same model written with jitgrad.nn (same attribute
names) and gives torch's outputs within float32 rounding; and the reverse, through
``jitgrad.save``/``jitgrad.load`` or a plain safetensors file. Skips without torch."""
import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

import jitgrad
from jitgrad import Tensor, nn

torch = pytest.importorskip("torch")
safetensors_torch = pytest.importorskip("safetensors.torch")


def mlp(lib):
    return lib.Sequential(lib.Linear(6, 16), lib.ReLU(), lib.Linear(16, 16), lib.Tanh(),
                          lib.Linear(16, 3))


def batchnorm_model(lib):
    return lib.Sequential(lib.Linear(6, 8), lib.BatchNorm1d(8), lib.ReLU(), lib.Linear(8, 3))


def recurrent_model(lib):
    class Tagger(lib.Module):
        def __init__(self):
            super().__init__()
            self.embed = lib.Embedding(20, 5)
            self.lstm = lib.LSTM(5, 7, num_layers=2, batch_first=True)
            self.gru = lib.GRU(7, 4, batch_first=True)
            self.head = lib.Linear(4, 3)

        def forward(self, tokens):
            out, _ = self.lstm(self.embed(tokens))
            out, _ = self.gru(out)
            return self.head(out)

    return Tagger()


MODELS = {"mlp": (mlp, "float"), "batchnorm": (batchnorm_model, "float"),
          "lstm_gru": (recurrent_model, "tokens")}


def inputs(kind):
    rng = np.random.default_rng(0)
    if kind == "tokens":
        return rng.integers(0, 20, (3, 5))
    return rng.standard_normal((4, 6)).astype(np.float32)


def trained_a_little(model, x, is_torch):
    """One training forward (BatchNorm's running statistics move), then eval mode."""
    model.train()
    model(torch.as_tensor(x) if is_torch else Tensor(x))
    return model.eval()


def assert_same_outputs(ours, theirs, x):
    expected = theirs(torch.as_tensor(x)).detach().numpy()
    np.testing.assert_allclose(ours(Tensor(x)).data, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_torch_to_jitgrad_through_safetensors(name, tmp_path):
    build, kind = MODELS[name]
    x = inputs(kind)
    theirs = trained_a_little(build(torch.nn), x, True)
    path = tmp_path / "torch.safetensors"
    safetensors_torch.save_file(theirs.state_dict(), str(path))
    ours = build(nn).eval()
    ours.load_state_dict(load_file(str(path)))
    assert_same_outputs(ours, theirs, x)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_jitgrad_to_torch_through_safetensors(name, tmp_path):
    build, kind = MODELS[name]
    x = inputs(kind)
    ours = trained_a_little(build(nn), x, False)
    path = tmp_path / "jitgrad.safetensors"
    jitgrad.save(ours.state_dict(), path)
    theirs = build(torch.nn).eval()
    theirs.load_state_dict({k: torch.as_tensor(v) for k, v in jitgrad.load(path).items()})
    assert_same_outputs(ours, theirs, x)
    save_file(ours.state_dict(), str(tmp_path / "plain.safetensors"))
    fresh = build(torch.nn).eval()
    fresh.load_state_dict(safetensors_torch.load_file(str(tmp_path / "plain.safetensors")))
    assert_same_outputs(ours, fresh, x)


def test_a_torch_state_dict_of_tensors_loads_directly():
    theirs = batchnorm_model(torch.nn).eval()
    ours = batchnorm_model(nn).eval()
    ours.load_state_dict(theirs.state_dict())
    assert_same_outputs(ours, theirs, inputs("float"))


def test_a_mismatched_state_dict_changes_nothing():
    theirs, ours = mlp(torch.nn), batchnorm_model(nn)
    before = ours.state_dict()
    with pytest.raises(nn.StateDictError, match="missing 1.running_mean"):
        ours.load_state_dict(theirs.state_dict())
    for name, value in ours.state_dict().items():
        np.testing.assert_array_equal(value, before[name])
