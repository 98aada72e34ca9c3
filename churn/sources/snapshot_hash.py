"""The sha256 of a table that does not depend on the order of its rows.

The rows are sorted (by the id column first when there is one, then by every column, so
equal ids still sort one way) and the sorted table, without the driver's field metadata (the
server's type names: ``varchar`` or ``text`` hold the same values), is written as one Arrow
IPC stream in batches of a fixed size: the same rows and column types give the same bytes
whatever order and chunks the server sent them in.
"""

from __future__ import annotations

import hashlib

import pyarrow as pa

HASH_BATCH_ROWS = 65_536


class _Digest:
    """A file-like sink that feeds a sha256 (IPC writes go straight into the hash)."""

    def __init__(self) -> None:
        self.hash = hashlib.sha256()
        self.closed = False

    def write(self, data: bytes | memoryview) -> int:
        self.hash.update(data)
        return len(data)

    def flush(self) -> None:
        """Nothing is buffered."""

    def close(self) -> None:
        self.closed = True


def snapshot_sha256(table: pa.Table, id_column: str | None) -> str:
    """The hex sha256 of ``table``'s rows, in an order of their own."""
    keys = [name for name in table.column_names if name != id_column]
    order = ([id_column] if id_column else []) + keys
    sortable = [name for name in order if _sortable(table.schema.field(name).type)]
    if sortable and table.num_rows > 1:
        table = table.sort_by([(name, "ascending") for name in sortable])
    plain = pa.schema([pa.field(field.name, field.type) for field in table.schema])
    table = table.cast(plain).combine_chunks()  # the server's field metadata is not the data
    digest = _Digest()
    with pa.ipc.new_stream(pa.PythonFile(digest, mode="w"), table.schema) as writer:
        writer.write_table(table, max_chunksize=HASH_BATCH_ROWS)
    return digest.hash.hexdigest()


def _sortable(kind: pa.DataType) -> bool:
    return not (pa.types.is_nested(kind) or isinstance(kind, pa.BaseExtensionType))
