"""Reports: the figures of docs/reports.md, the per-case facts they read, the daily rollup."""
