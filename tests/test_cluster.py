"""rag.cluster on a real two-node Ray cluster on this machine (127.0.0.2 and 127.0.0.3): indexing
through Ray Data, shards served by actors, and the faults. Skips without Ray
(``pip install -e '.[ray]'``; ``make test`` installs it)."""

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import rag

PROJECT = Path(__file__).resolve().parent.parent
SAMPLE_CORPUS = PROJECT / "data" / "counter-trafficking"
QUESTIONS = [
    "Who heads IOM's Counter-Trafficking Division?",
    "Who is the Head of Unit of INTPA G6?",
    "Into how many languages was the guide translated?",
    "Who is the press contact at IOM Islamabad?",
    "When will the panel discussion take place?",
    "What is the boiling point of mercury?",
]

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    """Two Ray nodes, each on its own loopback address (Ray keeps 127.0.0.2/3 as they are)."""
    cluster_utils = pytest.importorskip(
        "ray.cluster_utils", reason="needs Ray: pip install -e '.[ray]' (make test does)"
    )
    import ray

    os.environ.setdefault("RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S", "0")
    # One CPU on the head, two on the worker: a pipeline's pool (CPUs but one: two actors) then
    # always has an actor on the worker node, and two actors, not three, load the model on these
    # two cores. A lost node is noticed in about a second, not 15.
    quick = {"health_check_period_ms": 500, "health_check_failure_threshold": 2}
    cluster = cluster_utils.Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 1,
            "object_store_memory": 200_000_000,
            "node_ip_address": "127.0.0.2",
            "include_dashboard": False,
            "_system_config": quick,
        },
    )
    worker = cluster.add_node(
        num_cpus=2, object_store_memory=200_000_000, node_ip_address="127.0.0.3"
    )
    from rag.cluster import connect

    connected = connect(cluster.address, timeout_s=300)
    yield cluster, worker, connected
    ray.shutdown()
    cluster.shutdown()


def test_rag_never_imports_ray_and_says_how_to_install_it():
    # One process: the library and the CLI import no Ray; without Ray, --ray says what to do.
    without_ray = (
        "import sys, rag, rag.cli\n"
        "rag.cli._parser()\n"
        "print('ray' in sys.modules)\n"
        "sys.modules['ray'] = None\n"
        "sys.exit(rag.cli.main(['index', 'x', '--index', 'y', '--ray', '127.0.0.1:1']))"
    )
    result = subprocess.run([sys.executable, "-c", without_ray], capture_output=True, text=True)
    assert (result.returncode, result.stdout.strip()) == (1, "False"), result.stderr
    assert result.stderr.strip() == (
        "rag: error: Ray is not installed: pip install -e '.[ray]' (tested with ray 2.60)"
    )


def test_connect_needs_an_address_that_answers(monkeypatch):
    pytest.importorskip("ray")
    from rag.cluster import connect
    from rag.errors import ClusterError

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    with pytest.raises(ValueError, match="RAY_ADDRESS"):
        connect()
    with pytest.raises(ClusterError, match="no Ray cluster answers at 127.0.0.1:1"):
        connect("127.0.0.1:1")


def test_an_index_built_on_the_cluster_is_the_local_one(ray_cluster, embedder, tmp_path):
    _, _, cluster = ray_cluster
    folder = tmp_path / "docs"
    folder.mkdir()
    for source in sorted(SAMPLE_CORPUS.iterdir())[:3]:
        (folder / source.name).write_bytes(source.read_bytes())
    (folder / "blob.txt").write_bytes(b"\x00\x01binary\x00" * 100)

    remote = rag.Index(embedder, path=tmp_path / "remote")
    report = remote.sync([folder], cluster=cluster)
    local = rag.Index(embedder)
    here = local.sync([folder])
    assert sorted(report.added) == sorted(here.added)
    # A per-file failure comes back as a reason, as locally.
    assert [(s.source, s.reason) for s in report.skipped] == [
        (s.source, s.reason) for s in here.skipped
    ]
    assert [s.source for s in report.skipped] == [str((folder / "blob.txt").resolve())]
    mine, theirs = remote._snapshot, local._snapshot
    assert [mine.chunk(r) for r in range(mine.next_row)] == [
        theirs.chunk(r) for r in range(theirs.next_row)
    ]
    rows = np.arange(mine.next_row)
    cosines = (mine.vectors_at(rows) * theirs.vectors_at(rows)).sum(axis=1)
    assert cosines.min() >= 0.9999
    loaded = rag.Index.load(tmp_path / "remote", model=embedder)
    assert loaded.verify() == []
    for question in QUESTIONS[:3]:
        assert rag.ask(loaded, question).to_dict() == rag.ask(local, question).to_dict()


def test_shards_of_an_index_with_replaced_chunks_hold_its_live_rows_in_order(embedder, tmp_path):
    # No cluster needed to split. A changed document leaves dead rows behind and its new chunks
    # at the end: the shards hold the live rows only, in the whole index's order.
    from rag.cluster import shard_index

    folder = tmp_path / "docs"
    folder.mkdir()
    for source in sorted(SAMPLE_CORPUS.iterdir())[:4]:
        (folder / source.name).write_bytes(source.read_bytes())
    whole = rag.Index(embedder, path=tmp_path / "whole")
    whole.sync([folder])
    first = sorted(folder.iterdir())[0]
    first.write_text(first.read_text() + "\nA sentence added at the end of the page.\n")
    whole.sync([folder])
    snapshot = whole._snapshot
    assert snapshot.size < snapshot.next_row  # dead rows are there
    live = [snapshot.chunk(r) for r in np.flatnonzero(snapshot.live)]
    folders = shard_index(tmp_path / "whole", tmp_path / "sharded", into=2)
    parts = [rag.Index.load(f, model=embedder) for f in folders]
    assert [p.verify() for p in parts] == [[], []]
    rows = [p._snapshot.chunk(r) for p in parts for r in range(p._snapshot.next_row)]
    assert rows == live


@pytest.fixture(scope="module")
def shards(ray_cluster, embedder, tmp_path_factory):
    """The sample corpus indexed locally, and split into two shards served on the cluster."""
    from rag.cluster import ShardedIndex, shard_index

    _, _, cluster = ray_cluster
    root = tmp_path_factory.mktemp("shards")
    whole = rag.Index(embedder, path=root / "whole")
    whole.sync([SAMPLE_CORPUS])
    folders = shard_index(root / "whole", root / "sharded", into=2)
    sharded = ShardedIndex.open(root / "sharded", cluster, embedder=embedder)
    yield whole, sharded, folders
    sharded.close()


def test_shards_are_normal_indexes_of_whole_documents(shards, embedder):
    whole, sharded, folders = shards
    parts = [rag.Index.load(folder, model=embedder) for folder in folders]
    assert [p.verify() for p in parts] == [[], []]
    sources = [sorted(d.source for d in p.documents) for p in parts]
    assert sorted(sources[0] + sources[1]) == sorted(d.source for d in whole.documents)
    assert not set(sources[0]) & set(sources[1]) and all(sources)
    assert sum(p.chunk_count() for p in parts) == whole.chunk_count() == sharded.size


def test_sharded_search_and_answers_are_the_whole_indexs(shards):
    whole, sharded, _ = shards
    for question in QUESTIONS:
        expected = whole.search(question, k=5)
        assert sharded.search(question, k=5) == expected, question
        assert rag.ask(sharded, question).to_dict() == rag.ask(whole, question).to_dict()
    source = str(SAMPLE_CORPUS / "004_bedb749cf14d49f0.txt")
    only = sharded.search(QUESTIONS[1], k=3, sources=[source])
    assert only == whole.search(QUESTIONS[1], k=3, sources=[source])
    with pytest.raises(ValueError, match="no indexed document"):
        sharded.search(QUESTIONS[1], sources=["/nowhere.txt"])


def test_the_cli_asks_a_sharded_index_on_the_cluster(shards, ray_cluster):
    from rag.cli import main

    _, sharded, _ = shards
    assert main(["ask", QUESTIONS[1], "--index", str(sharded.path)]) == 1  # needs --ray
    cluster, _, _ = ray_cluster
    assert main(["ask", QUESTIONS[1], "--index", str(sharded.path), "--ray", cluster.address]) == 0


def test_rag_info_describes_a_sharded_index_without_a_cluster(shards, capsys):
    from rag.cli import main

    _, sharded, _ = shards
    assert main(["info", "--index", str(sharded.path)]) == 0
    out = capsys.readouterr().out
    assert f"a sharded index of {sharded.size} chunks in 2 shards" in out


def test_a_dead_shard_fails_the_question_and_names_the_shard(shards):
    """(After the other tests of the shards: it kills one.)"""
    import ray

    from rag.errors import ClusterError

    _, sharded, _ = shards
    ray.kill(sharded._actors[1])
    with pytest.raises(ClusterError, match=r"shard 1 \(.*shard-1\) is gone"):
        rag.ask(sharded, "Who is the press contact at IOM Islamabad?")


def test_a_worker_node_lost_mid_index_loses_nothing(ray_cluster, embedder, tmp_path, monkeypatch):
    """The second node's raylet goes while files are being embedded: the run ends with every
    file indexed or reported, and the index on disk loads and verifies clean. Ten batches for two
    actors, one of them on the worker node (the head has one CPU): it goes with work in hand.
    (Last: the cluster has one node after it.)"""
    import rag.cluster

    cluster, worker, connected = ray_cluster
    folder = tmp_path / "docs"
    folder.mkdir()
    sentences = [
        f"Office {i} in district {i % 23} referred {i * 3 + 1} people to shelter {i % 7}."
        for i in range(1250)
    ]
    for n in range(5):
        (folder / f"report-{n:02}.txt").write_text(
            f"Report {n}\n" + "\n".join(sentences[n * 250 : (n + 1) * 250]) + "\n"
        )
    index = rag.Index(embedder, path=tmp_path / "index")
    monkeypatch.setattr(rag.cluster, "EMBED_BATCH", 8)
    encoder, killed = connected.encoder, []

    def encoder_that_loses_the_node(model):
        encode = encoder(model)

        def encode_and_kill(texts):
            for n, batch in enumerate(encode(texts)):
                if n == 0:  # the first batch is back: the second node goes, its work in flight
                    cluster.remove_node(worker, allow_graceful=False)
                    killed.append(time.monotonic())
                yield batch

        return encode_and_kill

    monkeypatch.setattr(connected, "encoder", encoder_that_loses_the_node)
    try:
        report = index.sync([folder], cluster=connected)
        outcome = "indexed"
    except rag.RagError as exc:
        report, outcome = None, str(exc)
    assert killed, "the node was not lost during the run"
    names = sorted(p.name for p in folder.iterdir())
    if report is not None:
        done = sorted(Path(s).name for s in report.added) + [
            Path(s.source).name for s in report.skipped
        ]
        assert sorted(done) == names, outcome
    else:  # the cluster gave up: nothing was committed, the index is as it was (empty)
        assert "nothing was committed" in outcome
    assert rag.Index.exists(tmp_path / "index") == (report is not None)
    if report is not None:
        loaded = rag.Index.load(tmp_path / "index", model=embedder)
        assert loaded.verify() == [] and len(loaded.documents) == len(report.added)
