"""Every registered model: the schema's names, output shapes and exact parameter counts."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from fltkc.contract import catalog
from fltkc.contract.datafiles import TRAINER_CONFIG_SCHEMA, load_schema
from trainer.data import IGNORE_INDEX
from trainer.models import MODELS, build_model


def conv(cin: int, cout: int, k: int, bias: bool = True) -> int:
    return cin * cout * k * k + (cout if bias else 0)


def dense(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


def bn(c: int) -> int:
    return 2 * c  # weight and bias; running statistics are buffers, not parameters


def basic_block(cin: int, cout: int) -> int:
    shortcut = conv(cin, cout, 1, bias=False) + bn(cout) if cin != cout else 0
    return conv(cin, cout, 3, False) + bn(cout) + conv(cout, cout, 3, False) + bn(cout) + shortcut


def preact_unit(cin: int, cout: int) -> int:
    shortcut = conv(cin, cout, 1) if cin != cout else 0
    return bn(cin) + conv(cin, cout, 3) + bn(cout) + conv(cout, cout, 3) + shortcut


STAGES = ((64, 64), (64, 128), (128, 256), (256, 512))  # (in, out) channels of ResNet-18 stages


def resnet18(classes: int) -> int:
    blocks = sum(basic_block(i, o) + basic_block(o, o) for i, o in STAGES)
    return conv(3, 64, 3, False) + bn(64) + blocks + dense(512, classes)


def lstm_layer(n_in: int, hidden: int) -> int:
    return 4 * hidden * (n_in + hidden) + 2 * 4 * hidden  # four gates, two bias vectors


CIFAR10_CNN_CONVS = [(3, 32), (32, 32), (32, 64), (64, 64), (64, 128), (128, 128)]
VGG16_CONVS = [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256)]
VGG16_CONVS += [(256, 512)] + [(512, 512)] * 5

# name -> (count by layer formula, the same count written out once by hand)
EXPECTED_PARAMS = {
    "mnist-cnn": (conv(1, 32, 5) + conv(32, 64, 5) + dense(3136, 512) + dense(512, 10), 1_663_370),
    "fashion-mnist-cnn": (
        conv(1, 16, 5) + bn(16) + conv(16, 32, 5) + bn(32) + dense(1568, 10),
        29_034,
    ),
    "fashion-mnist-resnet": (
        conv(1, 64, 7) + bn(64) + sum(preact_unit(i, o) + preact_unit(o, o) for i, o in STAGES)
        + dense(512, 10),
        11_177_482,
    ),
    "cifar10-cnn": (
        sum(conv(i, o, 3) + bn(o) for i, o in CIFAR10_CNN_CONVS)
        + dense(2048, 128) + dense(128, 10),
        551_466,
    ),
    "cifar10-resnet": (resnet18(10), 11_173_962),
    "cifar100-resnet": (resnet18(100), 11_220_132),
    "cifar100-vgg": (
        sum(conv(i, o, 3) + bn(o) for i, o in VGG16_CONVS)
        + dense(512, 4096) + dense(4096, 4096) + dense(4096, 100),
        34_015_396,
    ),
    "reddit-lstm": (
        10_000 * 200 + lstm_layer(200, 256) + lstm_layer(256, 256) + dense(256, 10_000),
        5_565_328,
    ),
}  # fmt: skip


def test_registry_matches_the_schema() -> None:
    props = load_schema(TRAINER_CONFIG_SCHEMA)["properties"]
    assert list(MODELS) == list(catalog.MODELS) == props["model"]["properties"]["name"]["enum"]
    # Every dataset has a model that trains on it.
    fitted = {d for name in catalog.MODELS for d in catalog.datasets_for(name)}
    assert fitted == set(catalog.DATASETS)


def test_unknown_model_lists_the_valid_names() -> None:
    with pytest.raises(ValueError, match="unknown model 'lenet'; valid names: cifar10-cnn, "):
        build_model("lenet")


@pytest.mark.parametrize("name", list(MODELS))
def test_output_shape_and_parameter_count(name: str) -> None:
    torch.manual_seed(0)
    model = build_model(name).eval()
    # The catalog's word for what the model takes and predicts, which the compiler trusts.
    classes, shape = catalog.MODELS[name].classes, catalog.MODELS[name].shape
    formula, by_hand = EXPECTED_PARAMS[name]
    assert formula == by_hand
    assert sum(p.numel() for p in model.parameters()) == by_hand
    if name == "reddit-lstm":
        tokens = torch.randint(0, classes, (2, *shape))
        targets = torch.randint(0, classes, (2, *shape))
        targets[1, 5:] = IGNORE_INDEX  # padded positions must be accepted by the loss
        logits = model(tokens)
        assert logits.shape == (2, classes, shape[0])
        loss = nn.CrossEntropyLoss()(logits, targets)
        assert torch.isfinite(loss)
        assert logits.argmax(dim=1).shape == targets.shape
    else:
        with torch.no_grad():
            logits = model(torch.randn(2, *shape))
        assert logits.shape == (2, classes)
        assert torch.isfinite(logits).all()
