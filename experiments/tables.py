"""Every results table of README.md and RESULTS.md, rewritten from the committed results files
(results/**/results.json and summary.json), so that no number in them is typed by hand.

  python launch.py --experiment=tables                    # rewrites the stale table blocks
  python launch.py --experiment=tables --set=check=True   # exit status 2 naming them instead

A table is the text between its opening and closing `table:NAME` markers (HTML comments);
lenet_jax/report/tables.py builds each NAME, and tests/test_tables.py fails while one is stale.
The tables live in the repository, so --workdir is ignored and nothing else is written.
"""
import ml_collections

from lenet_jax.report import tables


def get_config():
  return ml_collections.ConfigDict({"experiment": "tables", "check": False})


def run(config, workdir):
  del workdir   # the documents and results are the repository's, whatever the workdir
  if config.check:
    stale = tables.stale(tables.REPOSITORY)
    if stale:
      raise tables.TableError(f"stale table blocks: {', '.join(stale)}; rewrite them with "
                              "`python launch.py --experiment=tables`")
    print("every table block matches the results files")
    return []
  written = tables.write(tables.REPOSITORY)
  print(f"rewrote {', '.join(written)}" if written else
        "every table block already matched the results files")
  return written
