"""Fleet verification: every host's evidence in one lake, one signed fleet report.

    lake.py      where the lake lives (a folder or S3) and its layout
    columns.py   the one row layout: journaled flows as OCSF-named flat columns
    manifest.py  a sealed host-day's signed manifest, built and checked
    seal.py      `lake seal`: a closed day of a journal into Parquet and a manifest
    partial.py   map (judge a batch into a partial table) and merge (add two)
    engines.py   DuckDB and Spark carrying the same map over the lake
    report.py    finalize: the fleet document and its coverage
    inputs.py    the fleet's key list and host list
    verify.py    re-run a fleet report and name the first field that differs

Imported only by the commands that need them: pyarrow and the engines are not loaded by
`residency --version` or the offline commands.
"""
