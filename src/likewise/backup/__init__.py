"""`likewise backup DEST` and `likewise restore SRC`: a consistent copy of a store, taken while
servers write to it, and checked by sha256 before anything is restored.

A backup is a folder: `likewise.db` (an embedded store's SQLite file, whichever backend it came
from) and `manifest.json` (format, likewise version, source backend, when, the counts of items,
events, users and impressions, and the sha256 and size of every file). The folder is written
beside DEST and renamed into place last, so a DEST that exists is a whole backup.

- An embedded source is read with SQLite's online backup API inside one read transaction: the
  copy is the store as of one commit while writers go on (WAL lets them). The index snapshots
  are not copied; the restored store rebuilds them from its rows when it is opened.
- A PostgreSQL source is copied (`likewise copy`, with its checks) into an embedded store, every
  read in one REPEATABLE READ transaction, i.e. one snapshot of the database. Not pg_dump: that
  needs client binaries of the server's major version beside likewise, and its dump restores
  only into PostgreSQL, while this format restores into either backend.

Restore checks each file against the manifest while copying it, builds the store beside the
target folder and swaps it in (embedded), or copies into PostgreSQL in one transaction; the
counts must match the manifest before it commits. A failed restore leaves the target as it was.
"""

from likewise.backup.files import FORMAT, Bars, Manifest, no_bars
from likewise.backup.run import backup_store, restore_store, verify_backup

__all__ = [
    "FORMAT",
    "Bars",
    "Manifest",
    "backup_store",
    "no_bars",
    "restore_store",
    "verify_backup",
]
