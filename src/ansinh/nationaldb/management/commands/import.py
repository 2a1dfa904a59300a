"""``ansinh import SOURCE FILE``: stage a source file, then commit or discard it.

    ansinh import tgxh tgxh_2026.csv                    # stage; prints the counts per verdict
    ansinh import tgxh tgxh_2026.csv --commit           # stage (or find) and commit
    ansinh import hongheo ho_ngheo.xlsx --encoding vni  # override the encoding guess
    ansinh import --discard 12                          # discard batch 12 (rows are kept)
    ansinh import --commit-batch 12                     # commit a batch staged earlier

SOURCE: tgxh (social assistance), hongheo (poor/near-poor households), nguoicocong (people with
meritorious service), bhxh (insured persons). Staging the same file again is a no-op that
shows the existing batch. Exit status 1 when the file is refused (e.g. missing columns).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from ansinh.core.errors import DomainError
from ansinh.nationaldb.imports import services
from ansinh.nationaldb.imports.mappings import SOURCES
from ansinh.nationaldb.imports.readers import ENCODINGS
from ansinh.nationaldb.models import ImportBatch


class Command(BaseCommand):
    help = "Stage a source file (CSV/XLSX) into the national database; commit or discard it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("source", nargs="?", choices=sorted(SOURCES))
        parser.add_argument("file", nargs="?", type=Path)
        parser.add_argument("--commit", action="store_true", help="commit after staging")
        parser.add_argument("--discard", type=int, metavar="BATCH", help="discard a batch")
        parser.add_argument("--commit-batch", type=int, metavar="BATCH", help="commit a batch")
        parser.add_argument("--encoding", choices=ENCODINGS, help="override the detection")
        parser.add_argument("--no-link", action="store_true", help="skip record linkage")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["discard"]:
                batch = services.discard_batch(self._batch(options["discard"]))
                self.stdout.write(f"batch {batch.pk}: discarded ({batch.rows.count()} rows kept)")
                return
            if options["commit_batch"]:
                batch = services.commit_batch(self._batch(options["commit_batch"]))
                self._report(batch)
                return
            if not options["source"] or not options["file"]:
                raise CommandError("give SOURCE and FILE, or --discard/--commit-batch BATCH")
            batch = self._stage(options)
            if options["commit"]:
                batch = services.commit_batch(batch)
            self._report(batch)
        except DomainError as exc:
            raise CommandError(
                f"{exc.code}: {exc.first.message_en} / {exc.first.message_vi}"
            ) from exc

    def _batch(self, pk: int) -> ImportBatch:
        batch = ImportBatch.objects.filter(pk=pk).first()
        if batch is None:
            raise CommandError(f"no import batch {pk}")
        return batch

    def _stage(self, options: dict[str, Any]) -> ImportBatch:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        data = path.read_bytes()
        bar = tqdm(total=0, unit=" rows", disable=options.get("verbosity", 1) == 0)

        def progress(done: int, total: int) -> None:
            bar.total = max(total, done)
            bar.update(done - bar.n)

        try:
            return services.stage_file(
                options["source"],
                path.name,
                data,
                encoding=options["encoding"],
                link=False if options["no_link"] else None,
                progress=progress,
            )
        finally:
            bar.close()

    def _report(self, batch: ImportBatch) -> None:
        counts = ", ".join(f"{k} {v}" for k, v in batch.counts.items())
        self.stdout.write(
            f"batch {batch.pk} [{batch.state}] {batch.source} {batch.file_name} "
            f"({batch.file_format} {batch.encoding} delimiter={batch.delimiter!r}): {counts}"
        )
