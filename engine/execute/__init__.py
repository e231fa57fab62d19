"""Stage 6, execution: tasks on local threads, processes or a dask cluster."""
