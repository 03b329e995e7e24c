"""A synthetic portfolio: several trials of different sizes, each its own drop, and
the ``portfolio.toml`` that names them (for the tests and the benchmark)."""

from __future__ import annotations

from pathlib import Path

from trial_outcomes.synth.generator import generate

#: subjects of the i-th trial (cycled): small and large trials side by side
SIZES = (120, 60, 200, 90, 150)
TITLES = ("Paediatric B-ALL", "Young adult B-ALL", "Adult B-ALL", "Relapsed B-ALL after HSCT", "B-ALL, second line")


def write_portfolio(
    out: Path,
    trials: int,
    seed: int = 20201,
    sizes: tuple[int, ...] = SIZES,
    executor: str = "in_process",
    broker: str = "pyamqp://guest:guest@127.0.0.1:5672//",
    backend: str = "rpc://",
    queue: str = "dagster",
) -> Path:
    """``out/drops/trial-<k>`` for k = 1..trials and ``out/portfolio.toml`` (outputs under
    ``out/published``); the same arguments give the same bytes."""
    out.mkdir(parents=True, exist_ok=True)
    lines = ["# a synthetic portfolio (trial-outcomes synth --portfolio)", ""]
    for k in range(trials):
        trial = f"trial-{k + 1}"
        generate(out / "drops" / trial, sizes[k % len(sizes)], seed + k, "csv", progress=False)
        lines += [
            "[[trials]]",
            f'id = "{trial}"',
            # the titles repeat past five trials: the id then tells them apart on the pooled report
            f'title = "{TITLES[k % len(TITLES)]}{f" ({trial})" if trials > len(TITLES) else ""}"',
            f'data = "drops/{trial}"',
            f'out = "published/{trial}"',
            "",
        ]
    lines += ["[pooled]", 'out = "published/pooled"', 'factor = "PRHSCTFL"', ""]
    lines += ["[execution]", f'executor = "{executor}"', f'broker = "{broker}"', f'backend = "{backend}"']
    lines += [f'queue = "{queue}"', ""]
    path = out / "portfolio.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
