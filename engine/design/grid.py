"""Grid plans: a cube of swept parameters cut into chunks."""
from __future__ import annotations

import math
from dataclasses import dataclass

from reesens.core.regions import unit_region
from reesens.study.schema import Study

CHUNK_CELLS = 2**22  # cells per stored chunk (4 MiB of int8 codes)


EVAL_CELLS = 2**16  # rows per model call inside a chunk


@dataclass(frozen=True)
class GridPlan:
    """The cube's layout: dims (swept options, then swept parameters), shape, chunks."""

    dims: tuple[str, ...]
    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    n_options: int  # leading dims that are swept options

    @classmethod
    def of(cls, study: Study, chunk_cells: int | None = None) -> "GridPlan":
        """The study's cube in chunks of at most `chunk_cells` cells (default CHUNK_CELLS;
        trailing axes whole while they fit)."""
        chunk_cells = chunk_cells or CHUNK_CELLS
        options = [(o, len(study.options[o])) for o in study.options if o in study.swept]
        axes = [(p, len(v)) for p, v in study.grid.items()]
        chunks, cells = [], 1
        for _, size in reversed(axes):  # trailing axes whole while they fit
            take = size if cells * size <= chunk_cells else max(1, chunk_cells // cells)
            chunks.append(take)
            cells *= take
        return cls(dims=tuple(d for d, _ in options + axes),
                   shape=tuple(s for _, s in options + axes),
                   chunks=(1,) * len(options) + tuple(reversed(chunks)),
                   n_options=len(options))

    @property
    def chunk_counts(self) -> tuple[int, ...]:
        return tuple(math.ceil(s / c) for s, c in zip(self.shape, self.chunks))

    @property
    def n_chunks(self) -> int:
        return math.prod(self.chunk_counts)

    def region(self, chunk: int) -> tuple[slice, ...]:
        """The cube region of chunk number `chunk` (C order over the chunk grid)."""
        return unit_region(self.shape, self.chunks, chunk)
