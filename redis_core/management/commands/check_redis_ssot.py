import json

from django.core.management.base import BaseCommand, CommandError

from redis_core.ssot import run_checks


class Command(BaseCommand):
    help = "Verify that this process has one Redis manager and nothing beside it."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print one JSON document")
        parser.add_argument(
            "--live", action="store_true", help="also read CLIENT LIST and group connections"
        )

    def handle(self, *args, **options):
        extra = []
        if options["live"]:
            from redis_core.live import live_checks

            extra.extend(live_checks())  # one line per server process, then any failure
        results = run_checks(extra)
        ok = all(result.ok for result in results)
        if options["json"]:
            document = {"ok": ok, "checks": [result.as_dict() for result in results]}
            self.stdout.write(json.dumps(document, indent=2))
        else:
            for result in results:
                status = "PASS" if result.ok else "FAIL"
                style = self.style.SUCCESS if result.ok else self.style.ERROR
                self.stdout.write(style(f"{status} {result.name}: {result.detail}"))
        if not ok:
            failed = ", ".join(result.name for result in results if not result.ok)
            raise CommandError(f"check_redis_ssot failed: {failed}", returncode=1)
