"""The evaluation command end to end: ``--quick`` writes a complete report whose numbers are in a sane range.

This is the CI smoke test of ``python -m research.evaluate``: it checks the report's structure and that the
figures behave as they must on real data (clean faces verify, the combined degradation hurts), not exact values.
"""

import csv
import json

import pytest

from enhancement.analysis import AnalysisConfig
from enhancement.datasets import has_shared_data

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not has_shared_data(), reason="needs ../shared/data (LFW)")]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    from research.evaluate import main

    out = tmp_path_factory.mktemp("evaluation")
    summary = main(["--quick", "--out", str(out), "--cache", str(out / "cache")])
    return out, summary


def rows(path):
    with path.open() as fh:
        return list(csv.DictReader(fh))


def test_it_writes_the_readme_csvs_and_plots(report):
    out, _ = report
    for name in ("README.md", "verification.csv", "roc.csv", "auto_policy_steps.csv", "detection.csv",
                 "identification.csv", "tracks.csv", "summary.json", "roc.png", "tar_far_1pct.png", "examples.png",
                 "detection.png", "tracks.png"):
        assert (out / name).exists(), name
    for png in out.glob("*.png"):
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) < 400_000, png.name
    readme = (out / "README.md").read_text()
    for heading in ("## Headline: TAR at FAR = 1 %", "### Targets", "## Restoration quality",
                    "## Face detection on degraded frames", "## Open-set identification",
                    "### Targets of the degradation-robust embedder", "## Tracks: many poor frames, one decision",
                    "## Decision"):
        assert heading in readme
    assert "Training/evaluation disjointness: passed" in readme


def test_it_scores_every_degradation_and_treatment_it_could_run(report):
    out, summary = report
    table = {(r["degradation"], r["variant"]): r for r in rows(out / "verification.csv")}
    unavailable = summary["config"]["unavailable"]
    for deg in ("clean", "combined"):
        for variant in ("raw", "bicubic", "lime", "deblur", "srcnn", "auto"):
            if variant in unavailable or (variant == "srcnn" and deg == "clean"):
                assert (deg, variant) not in table
                continue
            row = table[(deg, variant)]
            assert int(row["pairs"]) == summary["config"]["pairs"] == 40 and int(row["genuine"]) == 20
            for field in ("accuracy", "tar_far_1pct", "tar_far_0_1pct", "auc"):
                assert 0.0 <= float(row[field]) <= 1.0
    # unavailable steps are named in the report, never silently dropped
    for variant in unavailable:
        assert variant in (out / "README.md").read_text()


def test_it_finds_clean_faces_easy_and_the_combined_degradation_hard(report):
    out, _ = report
    table = {(r["degradation"], r["variant"]): r for r in rows(out / "verification.csv")}
    clean, combined = table[("clean", "raw")], table[("combined", "raw")]
    assert float(clean["accuracy"]) >= 0.9 and float(clean["tar_far_1pct"]) >= 0.85
    assert float(clean["auc"]) > 0.97
    assert float(combined["tar_far_1pct"]) < float(clean["tar_far_1pct"]) - 0.2
    assert 0.5 <= float(combined["auc"]) < float(clean["auc"])
    assert clean["psnr_y_db"] == "identical" and float(clean["ssim_y"]) == 1.0


def test_it_reports_detection_and_identification_in_range(report):
    out, _ = report
    det = {(r["degradation"], r["frame"], r["detector"]): r for r in rows(out / "detection.csv")}
    assert float(det[("clean", "degraded", "haar")]["found_rate"]) >= 0.8
    assert float(det[("clean", "degraded", "mtcnn")]["found_rate"]) >= 0.8
    assert ("combined", "bicubic_up", "haar") in det
    ident = {(r["degradation"], r["variant"], r["method"]): r for r in rows(out / "identification.csv")}
    clean_nn = ident[("clean", "raw", "nearest_neighbour")]
    assert float(clean_nn["rank1"]) >= 0.8 and float(clean_nn["rank5"]) >= float(clean_nn["rank1"])
    assert ("clean", "raw", "classifier_head") in ident
    for row in ident.values():
        assert 0.0 <= float(row["false_alert_rate"]) <= 1.0


def test_it_records_its_configuration_for_reproduction(report):
    out, summary = report
    saved = json.loads((out / "summary.json").read_text())
    assert saved["config"]["seed"] == summary["config"]["seed"] == 20261127
    assert saved["config"]["quick"] is True
    assert saved["config"]["degradations"] == ["clean", "combined"]


def test_it_measures_tracks_for_each_embedder_rule_and_length(report):
    out, summary = report
    tracks = rows(out / "tracks.csv")
    embedders = {"teacher"} | ({"student"} if "student" in summary["config"]["variants"] else set())
    assert {r["embedder"] for r in tracks} == embedders
    assert {r["degradation"] for r in tracks} == {"combined"} and {int(r["frames"]) for r in tracks} == {1, 4}
    assert len({r["rule"] for r in tracks}) == 4 and any(r["rule"].startswith("any frame") for r in tracks)
    product = AnalysisConfig().fusion_rule
    assert any(r["rule"].startswith("product:") and r["rule"].endswith(
        f"or the averaged chip for the crops' nearest identity, by at most {product.chip_max_gain:g}") for r in tracks)
    for r in tracks:
        assert 0.0 <= float(r["tar_far_1pct"]) <= 1.0 and 0.0 <= float(r["far_reached"]) <= 1.0
        if r["embedder"] == "teacher":
            assert int(r["id_known"]) + int(r["id_strangers"]) > 0
    # one frame is one frame whatever the rule: the four rules agree at N = 1
    for emb in embedders:
        single = {r["tar_far_1pct"] for r in tracks if r["embedder"] == emb and r["frames"] == "1"}
        assert len(single) == 1, single
