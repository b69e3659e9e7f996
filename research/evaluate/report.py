"""Write the evaluation's CSVs, plots (matplotlib, Agg) and ``README.md`` into the output folder."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from . import metrics
from .detection import DetectionRow
from .identification import IdentificationResult
from .labels import EMBEDDER_LABELS, VARIANT_LABELS
from .readme import write_readme
from .tracks import TrackSection
from .verification import VerificationResult


def verification_rows(res: VerificationResult, degradations: list[str], variants: list[str],
                      threshold: float) -> list[dict[str, Any]]:
    rows = []
    same = res.same
    for deg in degradations:
        for variant in variants:
            key = (deg, variant)
            if key not in res.probes:
                continue
            d = res.distances(deg, variant)
            imp = metrics.cross_impostors(res.reference, res.reference_ids, res.probes[key], res.probe_ids)
            gen = d[same]
            tar1, tar01 = metrics.tar_at_far(gen, imp, 0.01), metrics.tar_at_far(gen, imp, 0.001)
            rows.append({
                "degradation": deg, "variant": variant, "pairs": len(d), "genuine": int(same.sum()),
                "impostor_comparisons": len(imp), "threshold": round(threshold, 4),
                "accuracy": round(metrics.accuracy_at(d, same, threshold), 4),
                "tar_far_1pct": round(tar1, 4),
                "tar_far_1pct_ci95": round(1.96 * math.sqrt(tar1 * (1 - tar1) / len(gen)), 4),
                "tar_far_0_1pct": round(tar01, 4), "auc": round(metrics.roc_auc(gen, imp), 5),
                "unchanged_probes": res.same_as_raw.get(key, 0),
                "psnr_y_db": _psnr(res.mse[key]),
                "ssim_y": round(float(np.mean(res.ssim[key])), 4) if res.ssim[key] else "",
                "enhance_ms_mean": round(float(np.mean(res.enhance_ms[key])), 2) if res.enhance_ms[key] else "",
            })
    return rows


def _psnr(mse: list[float]) -> float | str:
    if not mse:
        return ""
    mean = float(np.mean(mse))
    return "identical" if mean == 0 else round(10 * math.log10(255.0**2 / mean), 2)


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    if not rows:
        path.write_text("")
        return
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def roc_rows(res: VerificationResult) -> list[dict[str, Any]]:
    rows = []
    for (deg, variant), probes in res.probes.items():
        gen = res.distances(deg, variant)[res.same]
        imp = metrics.cross_impostors(res.reference, res.reference_ids, probes, res.probe_ids)
        for far, tar in metrics.roc_curve(gen, imp):
            rows.append({"degradation": deg, "variant": variant, "far": float(f"{far:.6g}"), "tar": round(tar, 4)})
    return rows


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_roc(rows: list[dict[str, Any]], degradations: list[str], variants: list[str], path: Path) -> None:
    plt = _plt()
    cols = min(4, len(degradations))
    nrows = math.ceil(len(degradations) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(3.2 * cols, 2.8 * nrows), squeeze=False, sharey=True)
    for ax, deg in zip(axes.ravel(), degradations, strict=False):
        for variant in variants:
            pts = [(r["far"], r["tar"]) for r in rows if r["degradation"] == deg and r["variant"] == variant]
            if pts:
                far, tar = zip(*pts, strict=True)
                ax.plot(far, tar, label=VARIANT_LABELS[variant], lw=1.3)
        ax.set_xscale("log")
        ax.set_xlim(1e-4, 1)
        ax.set_ylim(0, 1.01)
        ax.axvline(0.01, color="grey", lw=0.6, ls=":")
        ax.set_title(deg, fontsize=9)
        ax.set_xlabel("FAR", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(degradations):]:
        ax.axis("off")
    axes[0][0].set_ylabel("TAR", fontsize=8)
    axes[0][0].legend(fontsize=6, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def plot_bars(table: dict[str, dict[str, float]], groups: list[str], series: list[str], ylabel: str,
              path: Path, labels: dict[str, str] | None = None) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(groups) + 2), 3.2))
    width = 0.8 / max(len(series), 1)
    for k, name in enumerate(series):
        vals = [table.get(g, {}).get(name, np.nan) for g in groups]
        ax.bar(np.arange(len(groups)) + k * width - 0.4 + width / 2, vals, width, label=(labels or {}).get(name, name))
    ax.set_xticks(np.arange(len(groups)), groups, fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel(ylabel, fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, ncol=min(len(series), 6 if len(series) <= 6 else 3), loc="upper center",
              bbox_to_anchor=(0.5, -0.12))
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def plot_tracks(rows: list[dict[str, Any]], path: Path) -> None:
    """TAR at FAR = 1 % against the track's length: one panel per degradation, one line per embedder and rule."""
    plt = _plt()
    degradations = list(dict.fromkeys(r["degradation"] for r in rows))
    fig, axes = plt.subplots(1, len(degradations), figsize=(3.6 * len(degradations) + 0.6, 3.4), squeeze=False)
    styles = {"teacher": "-", "student": "--"}
    for ax, deg in zip(axes[0], degradations, strict=True):
        for emb, rule in dict.fromkeys((r["embedder"], r["rule"]) for r in rows if r["degradation"] == deg):
            pts = sorted((r["frames"], r["tar_far_1pct"]) for r in rows
                         if (r["degradation"], r["embedder"], r["rule"]) == (deg, emb, rule))
            ax.plot([n for n, _ in pts], [t for _, t in pts], styles.get(emb, ":"), marker="o", markersize=3,
                    label=f"{EMBEDDER_LABELS.get(emb, emb)}: {rule}")
        ax.set_title(deg, fontsize=9)
        ax.set_xlabel("frames in the track (N)", fontsize=8)
        ax.set_xticks(sorted({r["frames"] for r in rows}))
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("TAR at FAR = 1 %", fontsize=8)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, ncol=2, loc="lower center")
    fig.tight_layout(rect=(0, 0.2, 1, 1))
    fig.savefig(path, dpi=80)
    plt.close(fig)


def plot_examples(res: VerificationResult, degradations: list[str], variants: list[str], path: Path,
                  cell: int = 96) -> None:
    import cv2

    plt = _plt()
    shown = [v for v in variants if any((d, v) in res.examples for d in degradations)]
    fig, axes = plt.subplots(len(degradations), len(shown), figsize=(1.2 * len(shown), 1.25 * len(degradations)),
                             squeeze=False)
    for r, deg in enumerate(degradations):
        for c, variant in enumerate(shown):
            ax = axes[r][c]
            ax.axis("off")
            img = res.examples.get((deg, variant))
            if img is not None:
                # nearest-neighbour display keeps the probe's real pixel count visible
                shown_img = cv2.resize(img, (cell, cell), interpolation=cv2.INTER_NEAREST)
                ax.imshow(shown_img[:, :, ::-1])
                ax.text(2, cell - 4, f"{img.shape[1]}px", color="yellow", fontsize=5)
            if r == 0:
                ax.set_title(VARIANT_LABELS[variant], fontsize=6)
            if c == 0:
                ax.text(-8, cell / 2, deg, fontsize=6, ha="right", va="center")
    fig.tight_layout(pad=0.2)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_all(out: Path, summary: dict[str, Any], ver: VerificationResult | None, det: list[DetectionRow],
              ident: IdentificationResult | None, degradations: list[str], variants: list[str],
              threshold: float, tracks: TrackSection | None = None) -> dict[str, Any]:
    """Write CSVs, plots and README.md; returns the summary dict (also written as summary.json)."""
    out.mkdir(parents=True, exist_ok=True)
    vrows: list[dict[str, Any]] = []
    if ver is not None:
        vrows = verification_rows(ver, degradations, variants, threshold)
        write_csv(out / "verification.csv", vrows)
        rrows = roc_rows(ver)
        write_csv(out / "roc.csv", rrows)
        plot_roc(rrows, degradations, variants, out / "roc.png")
        table = {deg: {r["variant"]: r["tar_far_1pct"] for r in vrows if r["degradation"] == deg}
                 for deg in degradations}
        plot_bars(table, degradations, [v for v in variants if any(v in t for t in table.values())],
                  "TAR at FAR = 1 %", out / "tar_far_1pct.png", VARIANT_LABELS)
        plot_examples(ver, degradations, variants, out / "examples.png")
        steps = [{"degradation": d, "auto_steps": k, "probes": n} for d in degradations
                 for k, n in sorted(ver.auto_steps[d].items(), key=lambda kv: -kv[1])]
        write_csv(out / "auto_policy_steps.csv", steps)
        summary["verification"] = {"rows": vrows, "unavailable": ver.unavailable, "elapsed_s": round(ver.elapsed_s, 1),
                                   "auto_steps": {d: dict(ver.auto_steps[d]) for d in degradations}}
    drows = [{**asdict(r), "found_rate": round(r.found_rate, 4), "mean_ms": round(r.mean_ms, 2)} for r in det]
    if drows:
        write_csv(out / "detection.csv", drows)
        table = {}
        for r in det:
            if r.frame == "degraded":
                table.setdefault(r.degradation, {})[r.detector] = r.found_rate
        plot_bars(table, [d for d in degradations if d in table], sorted({r.detector for r in det}),
                  "faces found (IoU >= 0.3)", out / "detection.png")
        summary["detection"] = drows
    if ident is not None:
        irows = [asdict(r) for r in ident.rows]
        write_csv(out / "identification.csv", irows)
        summary["identification"] = {"rows": irows, "enrolled": ident.enrolled,
                                     "enrolment_photos": ident.enrolment_photos, "elapsed_s": round(ident.elapsed_s, 1),
                                     "classifier_note": ident.classifier_note}
    if tracks is not None and tracks.rows:
        write_csv(out / "tracks.csv", tracks.rows)
        summary["tracks"] = {"rows": tracks.rows, "test_pairs": tracks.test_pairs, "train_pairs": tracks.train_pairs,
                             "enrolled": tracks.enrolled, "elapsed_s": round(tracks.elapsed_s, 1),
                             "frames_built": tracks.frames_built}
        plot_tracks(tracks.rows, out / "tracks.png")
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str) + "\n")
    write_readme(out, summary, vrows, drows, degradations, variants)
    return summary
