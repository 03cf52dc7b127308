"""The reproduction report: finding the runs it reads (sources), the paper's figures drawn from
them (figures, plots), and report.md built beside them (build)."""
