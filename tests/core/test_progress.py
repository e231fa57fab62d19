"""Progress off a terminal: "unit k/n" lines, at most progress.LINES of them."""
from reesens.core import progress


def _lines(capsys, total: int, done: int = 0, step: int = 1) -> list[str]:
    bar = progress.Progress(total, True, done, unit="chunk")
    while bar.done < total:
        bar.advance(min(step, total - bar.done))
    bar.close()
    return capsys.readouterr().err.splitlines()


def test_few_units_get_a_line_each(capsys):
    assert _lines(capsys, 8) == [f"chunk {k}/8" for k in range(1, 9)]
    assert _lines(capsys, 8, done=5) == ["chunk 6/8", "chunk 7/8", "chunk 8/8"]


def test_thousands_of_units_get_a_line_per_hundredth_and_the_last(capsys):
    lines = _lines(capsys, 4800)
    assert len(lines) == progress.LINES
    assert lines[0] == "chunk 48/4800" and lines[-1] == "chunk 4800/4800"
    counts = [int(line.split()[1].split("/")[0]) for line in lines]
    assert counts == sorted(counts) and all(b - a == 48 for a, b in zip(counts, counts[1:]))
    uneven = _lines(capsys, 4801, step=7)  # steps that straddle the hundredths
    assert len(uneven) <= progress.LINES + 1 and uneven[-1] == "chunk 4801/4801"


def test_nothing_when_off(capsys):
    bar = progress.Progress(4800, False, unit="chunk")
    bar.advance(4800)
    assert capsys.readouterr().err == ""
