"""`make bench`'s report step: its table, with every figure beside its baseline, lands in the README."""

import importlib.util
import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db

BENCH = Path(__file__).resolve().parents[2] / "bench" / "run.py"


def _bench_module():
    spec = importlib.util.spec_from_file_location("bench_run", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_report_replaces_the_readme_table_between_the_markers_and_keeps_the_rest(tmp_path, monkeypatch):
    # Given a run's results, and a README whose table is from an earlier run
    bench = _bench_module()
    out = tmp_path / "var" / "bench"
    out.mkdir(parents=True)
    results = {
        "pages": {
            "bare": {"rps": 1000.0},
            "pages": {"contract page": {"rps": 400.0, "p50_ms": 30.0, "share_of_bare": 0.4}},
        },
        "ledger": {
            "pgbench": {"tps": 4000.0},
            "cycles": {"per_second": 100.0, "p50_ms": 80.0},
            "transfers": {"per_second": 500.0},
            "cycles_vs_pgbench": 0.025,
            "transfers_vs_pgbench": 0.125,
        },
        "memory": {"requests": 20000, "rss_before_kb": 81920, "rss_after_kb": 83968, "ratio": 1.025},
    }
    for name, data in results.items():
        (out / f"{name}.json").write_text(json.dumps(data))
    readme = tmp_path / "README.md"
    readme.write_text(f"# Before\n\n{bench.README_START}\n| old | table |\n{bench.README_END}\n\n## After\n")
    monkeypatch.setattr(bench, "OUT", out)
    monkeypatch.setattr(bench, "ROOT", tmp_path)
    # When the report runs
    bench.report()
    # Then the old table is gone, this run's figures and ratios are there, and the rest is untouched
    text = readme.read_text()
    assert "| old | table |" not in text
    assert text.startswith("# Before\n\n") and text.endswith(f"{bench.README_END}\n\n## After\n")
    assert "| contract page | 400 req/s, p50 30 ms | bare view | 0.40 |" in text
    assert "| fund → release cycles, 8 processes | 100/s, p50 80 ms | pgbench TPC-B-like 4000 tps | 0.025 |" in text
    assert "| worker RSS after 20,000 requests | 82 MB | before: 80 MB | 1.02 |" in text
    assert (out / "results.md").read_text() in text
